/**
 * A response body pulled from an async iterator as the client reads, so memory stays one item
 * however long the answer. The first item is read before the body exists: a failure there (storage
 * down) is still an HTTP error from the caller; a failure later can only abort the stream (the
 * client sees it truncated).
 *
 * @example return new Response(await pulledBody(rows, (row) => `${JSON.stringify(row)}\n`), { headers });
 */
export async function pulledBody<T>(items: AsyncIterator<T>, text: (item: T) => string): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  const first = await items.next();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close();
      else controller.enqueue(encoder.encode(text(first.value)));
    },
    async pull(controller) {
      const next = await items.next().catch((error: unknown) => {
        controller.error(error);
        return null;
      });
      if (next === null) return;
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(text(next.value)));
    },
  });
}

/**
 * Group commit for creates: while one statement for a shard is in flight, the creates that
 * arrive for that shard wait and then go together in the next one (up to `maxBatch`). An idle
 * shard writes a create at once, so nothing waits unless the database is already busy; under
 * load, one statement (one round trip, one commit and fsync) carries many creates.
 *
 * `write` takes the shard and the batch and returns one result per item, in order. When it
 * fails for a batch of several, `isPerItem(error)` says whether the failure could be one item's
 * (a unique violation): then each item is written alone, so one bad item fails only itself.
 *
 * @example
 *   const batcher = new CreateBatcher((shard, items) => createLinksWithIndex(primaryOf(shard), items), isUniqueViolation);
 *   const code = await batcher.submit(2, { id, code, longUrl, urlHash });
 */
export class CreateBatcher<I, R> {
  private readonly queues = new Map<number, { waiting: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }>; busy: boolean }>();
  private statements = 0;
  private items = 0;

  constructor(
    private readonly write: (shard: number, items: I[]) => Promise<R[]>,
    private readonly isPerItem: (error: unknown) => boolean,
    private readonly maxBatch = 500,
  ) {}

  submit(shard: number, item: I): Promise<R> {
    let queue = this.queues.get(shard);
    if (!queue) this.queues.set(shard, (queue = { waiting: [], busy: false }));
    const q = queue;
    return new Promise<R>((resolve, reject) => {
      q.waiting.push({ item, resolve, reject });
      if (!q.busy) {
        q.busy = true;
        void this.drain(shard, q);
      }
    });
  }

  /** Statements written and items they carried: items / statements is the batching factor. */
  get figures(): { statements: number; items: number } {
    return { statements: this.statements, items: this.items };
  }

  private async drain(shard: number, queue: { waiting: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }>; busy: boolean }): Promise<void> {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, this.maxBatch);
      this.statements++;
      this.items += batch.length;
      try {
        const results = await this.write(shard, batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (error) {
        if (batch.length > 1 && this.isPerItem(error)) await Promise.all(batch.map((b) => this.write(shard, [b.item]).then((r) => b.resolve(r[0]!), b.reject)));
        else for (const b of batch) b.reject(error);
      }
    }
    queue.busy = false;
  }
}

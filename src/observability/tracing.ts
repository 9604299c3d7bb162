import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";

/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured. Bun.serve is invisible to
 * auto-instrumentation (it patches node:http), so spans are made by hand: one per request at the
 * front door and one per Redis or PostgreSQL call (storage/nodes.ts), with the shard, node and
 * role as attributes. Context flows through AsyncLocalStorage, which Bun implements.
 *
 * @example
 *   const tracing = startTracing({ endpoint: "http://127.0.0.1:4318/v1/traces", ratio: 0.01, service: "shorten", instance: "instance-0" });
 *   await tracing.span("GET /:code", { "url.path": "/abc" }, async (span) => { ... });
 */
export interface Tracing {
  readonly enabled: boolean;
  /** Runs `fn` in a span (a child of the current one); records a thrown error on it. */
  span<T>(name: string, attributes: Attributes, fn: (span: Span | null) => Promise<T>, kind?: SpanKind): Promise<T>;
  /** Adds attributes to the span in progress (the request's), if any. */
  annotate(attributes: Attributes): void;
  shutdown(): Promise<void>;
}

export const NO_TRACING: Tracing = {
  enabled: false,
  span: (_name, _attributes, fn) => fn(null),
  annotate: () => {},
  shutdown: async () => {},
};

export function startTracing(options: { endpoint: string | undefined; ratio: number; service: string; instance: string }): Tracing {
  if (!options.endpoint) return NO_TRACING;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.service, "service.instance.id": options.instance }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.ratio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }), { maxQueueSize: 4096, scheduledDelayMillis: 500 })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  // The OTel API keeps its provider and context manager in process globals: registered here, once,
  // by the composition root.
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager);
  const tracer: Tracer = provider.getTracer("shorten");
  return {
    enabled: true,
    span(name, attributes, fn, kind = SpanKind.INTERNAL) {
      return tracer.startActiveSpan(name, { attributes, kind }, async (span) => {
        try {
          return await fn(span);
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    annotate(attributes) {
      trace.getActiveSpan()?.setAttributes(attributes);
    },
    async shutdown() {
      await provider.shutdown();
      contextManager.disable();
    },
  };
}

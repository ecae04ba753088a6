// OpenTelemetry traces over OTLP/HTTP (Jaeger and any collector ingest it), service name = the
// worker's name. A producer's send is a span whose context travels in the Celery headers
// (`traceparent`); the worker continues that trace with one consumer span per task, carrying the
// messaging semantic conventions. Off while OTEL_EXPORTER_OTLP_ENDPOINT is unset, and then none of
// the OpenTelemetry packages is loaded.
import type { Tracer } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { httpUrl } from '../runtime/config.ts';
import type { IntegrationContext, WorkerHooks } from '../runtime/index.ts';

export const tracingEnv = {
  /** The collector, e.g. http://jaeger:4318; spans go to <endpoint>/v1/traces. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl('http://localhost:4318').optional(),
  /** The service name; the worker's name by default. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

type TracingConfig = z.output<z.ZodObject<typeof tracingEnv>>;
type Api = typeof import('@opentelemetry/api');

let provider: TracerProvider | undefined;
let registered: Promise<Api> | undefined;

/** One tracer provider per process, registered globally so instrumented libraries share it. */
async function tracerFor(endpoint: string, config: TracingConfig, name: string): Promise<{ api: Api; tracer: Tracer }> {
  registered ??= register(endpoint, config.OTEL_SERVICE_NAME ?? name);
  const api = await registered;
  return { api, tracer: api.trace.getTracer(name) };
}

async function register(endpoint: string, serviceName: string): Promise<Api> {
  const [
    api,
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BatchSpanProcessor, TracerProvider },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ]);
  const url = new URL('v1/traces', `${endpoint.replace(/\/$/, '')}/`).toString();
  provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
  });
  api.trace.setGlobalTracerProvider(provider);
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return api;
}

const messaging = (queue: string, operation: 'send' | 'process', id?: string, task?: string) => ({
  'messaging.system': 'aws_sqs',
  'messaging.operation.type': operation,
  'messaging.destination.name': queue,
  ...(id ? { 'messaging.message.id': id } : {}),
  ...(task ? { 'celery.task': task } : {}),
});

export async function tracing(config: TracingConfig, { name }: IntegrationContext): Promise<WorkerHooks> {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return {};
  const { api, tracer } = await tracerFor(endpoint, config, name);
  const { context, propagation, SpanKind, SpanStatusCode, trace } = api;
  return {
    async aroundTask(event, run) {
      const parent = propagation.extract(context.active(), event.headers ?? {});
      const span = tracer.startSpan(
        `process ${event.queue}`,
        { kind: SpanKind.CONSUMER, attributes: messaging(event.queue, 'process', event.id, event.task) },
        parent,
      );
      try {
        return await context.with(trace.setSpan(parent, span), run);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
    async close() {
      await provider?.shutdown();
    },
  };
}

/** For the Producer: a send span per message, whose context goes out as `traceparent`. */
export function tracingHeaders(config: TracingConfig, name: string) {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  // Registered now, as the worker's tracing does at start-up; the first send waits for it.
  const traced = tracerFor(endpoint, config, name);
  return async ({ task, queue, id }: { task: string; queue: string; id: string }) => {
    const { api, tracer } = await traced;
    const { context, propagation, SpanKind, trace } = api;
    const span = tracer.startSpan(`send ${queue}`, {
      kind: SpanKind.PRODUCER,
      attributes: messaging(queue, 'send', id, task),
    });
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), headers);
    span.end();
    return headers;
  };
}

/** Sends the spans still buffered; for producers that exit right after sending. */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

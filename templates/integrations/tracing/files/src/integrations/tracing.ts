// OpenTelemetry traces over OTLP/HTTP (Jaeger and any collector ingest it), service name = the
// worker's name. A producer's send is a span whose context travels in the Celery headers
// (`traceparent`); the worker continues that trace with one consumer span per task, carrying the
// messaging semantic conventions. Off while OTEL_EXPORTER_OTLP_ENDPOINT is unset.
import { context, propagation, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
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

let provider: TracerProvider | undefined;

/** One tracer provider per process, registered globally so instrumented libraries share it. */
function tracerFor(config: TracingConfig, name: string): Tracer | undefined {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  if (!provider) {
    const url = new URL('v1/traces', `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/`).toString();
    provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME ?? name }),
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
    });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  return trace.getTracer(name);
}

const messaging = (queue: string, operation: 'send' | 'process', id?: string, task?: string) => ({
  'messaging.system': 'aws_sqs',
  'messaging.operation.type': operation,
  'messaging.destination.name': queue,
  ...(id ? { 'messaging.message.id': id } : {}),
  ...(task ? { 'celery.task': task } : {}),
});

export function tracing(config: TracingConfig, { name }: IntegrationContext): WorkerHooks {
  const tracer = tracerFor(config, name);
  if (!tracer) return {};
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
  const tracer = tracerFor(config, name);
  if (!tracer) return undefined;
  return ({ task, queue, id }: { task: string; queue: string; id: string }) => {
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

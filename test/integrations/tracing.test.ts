// The tracing integration against a local OTLP/HTTP receiver: the producer's send span and the
// worker's process span arrive in one trace, the second a child of the first.
import type { Server } from 'node:http';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startStub, waitFor } from '../support/process.ts';
import { count, generated, startTestWorker } from './support.ts';

/** templates/integrations/tracing/files/src/integrations/tracing.ts, as generated. */
type TracingModule = {
  tracing(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks>;
  tracingHeaders(
    config: Record<string, unknown>,
    name: string,
  ): ((message: { task: string; queue: string; id: string }) => Promise<Record<string, unknown>>) | undefined;
};

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
}

const spans: (OtlpSpan & { service?: string })[] = [];
let collector: Server;
let endpoint: string;
let sqsServer: FauxqsServer;

beforeAll(async () => {
  ({ server: collector, url: endpoint } = await startStub(({ url, body }) => {
    expect(url).toBe('/v1/traces');
    for (const resourceSpans of JSON.parse(body).resourceSpans ?? []) {
      const service = resourceSpans.resource?.attributes?.find(
        (attribute: { key: string }) => attribute.key === 'service.name',
      )?.value?.stringValue;
      for (const scope of resourceSpans.scopeSpans ?? []) {
        spans.push(...scope.spans.map((span: OtlpSpan) => ({ ...span, service })));
      }
    }
    return {};
  }));
  sqsServer = await startFauxqs({ port: 0, logger: false });
});

afterAll(async () => {
  collector?.close();
  await sqsServer?.stop();
});

describe('tracing', () => {
  it('joins the producer’s and the worker’s spans in one trace', async () => {
    const { tracing, tracingHeaders } = await generated<TracingModule>('src/integrations/tracing.ts');
    const config = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
    const thumb = defineTask({ name: 'thumb', args: z.tuple([]), run: () => 'ok' });
    const { metrics, producer, stop } = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'traced',
      user: 'otel',
      queues: [{ queue: 'thumbs', task: 'thumb' }],
      tasks: [thumb],
      integration: (context) => tracing(config, context),
      producer: { headers: tracingHeaders(config, 'traced') },
    });
    let id = '';
    try {
      ({ id } = await producer.send(thumb, []));
      await waitFor('the task', async () => ((await count(metrics, { state: 'succeeded' })) === 1 ? true : undefined));
    } finally {
      await stop();
    }
    await waitFor('two spans', async () => (spans.length >= 2 ? true : undefined));
    const send = spans.find((span) => span.name === 'send otel-local-thumbs');
    const process = spans.find((span) => span.name === 'process thumbs');
    expect(send, JSON.stringify(spans.map(({ name }) => name))).toBeDefined();
    expect(process).toBeDefined();
    expect(process?.traceId).toBe(send?.traceId);
    expect(process?.parentSpanId).toBe(send?.spanId);
    expect([send?.kind, process?.kind]).toEqual([4, 5]); // PRODUCER, CONSUMER
    const attributes = Object.fromEntries(
      (process?.attributes ?? []).map(({ key, value }) => [key, value.stringValue]),
    );
    expect(attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'messaging.destination.name': 'thumbs',
      'messaging.message.id': id,
      'celery.task': 'thumb',
    });
    expect(process?.service).toBe('traced');
  });
});

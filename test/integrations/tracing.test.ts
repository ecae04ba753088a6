// The tracing integration against a local OTLP/HTTP receiver: the producer's send span and the
// worker's process span arrive in one trace, the second a child of the first.
import type { Server } from 'node:http';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { startStub, waitFor } from '../support/process.ts';
import { count, generated, runtime } from './support.ts';

/** templates/integrations/tracing/files/src/integrations/tracing.ts, as generated. */
type TracingModule = {
  tracing(config: Record<string, unknown>, context: IntegrationContext): WorkerHooks;
  tracingHeaders(
    config: Record<string, unknown>,
    name: string,
  ): ((message: { task: string; queue: string; id: string }) => Record<string, unknown>) | undefined;
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
    const rt = await runtime();
    const { tracing, tracingHeaders } = await generated<TracingModule>('src/integrations/tracing.ts');
    const config = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
    const sqs = rt.createSqsClient({ region: 'us-east-1', endpoint: sqsServer.address });
    const naming = { env: 'local', user: 'otel' };
    const queues = [{ queue: 'thumbs', task: 'thumb' }];
    await rt.provisionQueues(sqs, [rt.fullQueueName('thumbs', naming)]);
    const metrics = rt.createMetrics('traced', { defaultMetrics: false });
    const log = rt.createLogger('traced', 'silent');
    const hooks = tracing(config, { name: 'traced', prefix: 'traced', log, metrics });
    const thumb = rt.defineTask({ name: 'thumb', args: z.tuple([]), run: () => 'ok' });
    const worker = await rt.startWorker({
      sqs,
      queues,
      tasks: [thumb],
      naming,
      concurrency: 1,
      metrics,
      log,
      hooks,
      waitTimeSeconds: 1,
    });
    let id = '';
    try {
      const producer = new rt.Producer(sqs, queues, naming, { headers: tracingHeaders(config, 'traced') });
      ({ id } = await producer.send(thumb, []));
      await waitFor('the task', async () => ((await count(metrics, { state: 'succeeded' })) === 1 ? true : undefined));
    } finally {
      await worker.stop(5);
      await hooks.close?.();
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

// The ratelimit integration's HTTP backend against a small server speaking the JSON API of
// Envoy's ratelimit service, with a real worker on fauxqs.
import type { Server } from 'node:http';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { startStub, waitFor } from '../support/process.ts';
import { count, generated, runtime } from './support.ts';

/** templates/integrations/ratelimit/files/src/integrations/ratelimit.ts, as generated. */
type RatelimitModule = { ratelimit(config: Record<string, unknown>, context: IntegrationContext): WorkerHooks };

const over = new Set<string>();
const hits = new Map<string, number>();
let service: Server;
let serviceUrl: string;
let sqsServer: FauxqsServer;

beforeAll(async () => {
  ({ server: service, url: serviceUrl } = await startStub(({ body }) => {
    const { domain, descriptors, hits_addend } = JSON.parse(body);
    const name = descriptors[0].entries[0].value as string;
    expect(domain).toBe('limited');
    expect(descriptors[0].entries[0].key).toBe('queue');
    hits.set(name, (hits.get(name) ?? 0) + hits_addend);
    const code = over.has(name) ? 'OVER_LIMIT' : 'OK';
    return {
      json: {
        overallCode: code,
        statuses: [{ code, currentLimit: { requestsPerUnit: 100, unit: 'SECOND' }, durationUntilReset: '1s' }],
      },
    };
  }));
  sqsServer = await startFauxqs({ port: 0, logger: false });
});

afterAll(async () => {
  service?.close();
  await sqsServer?.stop();
});

describe('ratelimit over HTTP (Envoy ratelimit service API)', () => {
  it('pauses only the queue that is OVER_LIMIT, resumes it when allowed, and falls back locally when unreachable', async () => {
    const rt = await runtime();
    const { ratelimit } = await generated<RatelimitModule>('src/integrations/ratelimit.ts');
    const sqs = rt.createSqsClient({ region: 'us-east-1', endpoint: sqsServer.address });
    const naming = { env: 'local', user: 'rl' };
    const queues = [
      { queue: 'fast', task: 'noop', ratelimit: 'fast' },
      { queue: 'slow', task: 'noop', ratelimit: 'slow' },
    ];
    await rt.provisionQueues(
      sqs,
      queues.map(({ queue }) => rt.fullQueueName(queue, naming)),
    );
    const metrics = rt.createMetrics('limited', { defaultMetrics: false });
    const log = rt.createLogger('limited', 'silent');
    const hooks = ratelimit(
      { RATELIMIT_BACKEND: 'http', RATELIMIT_URL: serviceUrl, RATELIMIT_DEFAULT_PER_SECOND: 1000 },
      { name: 'limited', prefix: 'limited', log, metrics },
    );
    const noop = rt.defineTask({ name: 'noop', args: z.tuple([]), run: () => 'ok' });
    over.add('slow');
    const worker = await rt.startWorker({
      sqs,
      queues,
      tasks: [noop],
      naming,
      concurrency: 5,
      metrics,
      log,
      hooks,
      waitTimeSeconds: 1,
    });
    const producer = new rt.Producer(sqs, queues, naming);
    try {
      for (let i = 0; i < 5; i++) {
        await producer.send(noop, [], { queue: 'fast' });
        await producer.send(noop, [], { queue: 'slow' });
      }
      await waitFor('the fast queue', async () =>
        (await count(metrics, { queue: 'fast', state: 'succeeded' })) === 5 ? true : undefined,
      );
      expect(await count(metrics, { queue: 'slow', state: 'started' })).toBe(0);
      expect(hits.get('slow')).toBeGreaterThan(0);

      over.delete('slow');
      await waitFor('the slow queue', async () =>
        (await count(metrics, { queue: 'slow', state: 'succeeded' })) === 5 ? true : undefined,
      );

      service.closeAllConnections();
      await new Promise<void>((resolve) => service.close(() => resolve()));
      for (let i = 0; i < 3; i++) await producer.send(noop, [], { queue: 'slow' });
      await waitFor('the local fallback', async () =>
        (await count(metrics, { queue: 'slow', state: 'succeeded' })) === 8 ? true : undefined,
      );
      const fallback = await metrics.registry.getSingleMetric('limited_ratelimit_fallback_total')?.get();
      expect(fallback?.values.find(({ labels }) => labels.ratelimit === 'slow')?.value).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.stop(5);
    }
  }, 60_000);
});

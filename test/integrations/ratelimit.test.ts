// The ratelimit integration's HTTP backend against a small server speaking the JSON API of
// Envoy's ratelimit service, with a real worker on fauxqs.
import type { Server } from 'node:http';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startStub, waitFor } from '../support/process.ts';
import { count, generated, startTestWorker } from './support.ts';

/** templates/integrations/ratelimit/files/src/integrations/ratelimit.ts, as generated. */
type RatelimitModule = {
  ratelimit(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks>;
};

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
    const { ratelimit } = await generated<RatelimitModule>('src/integrations/ratelimit.ts');
    const noop = defineTask({ name: 'noop', args: z.tuple([]), run: () => 'ok' });
    over.add('slow');
    const { metrics, producer, stop } = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'limited',
      user: 'rl',
      queues: [
        { queue: 'fast', task: 'noop', ratelimit: 'fast' },
        { queue: 'slow', task: 'noop', ratelimit: 'slow' },
      ],
      tasks: [noop],
      integration: (context) =>
        ratelimit(
          { RATELIMIT_BACKEND: 'http', RATELIMIT_URL: serviceUrl, RATELIMIT_DEFAULT_PER_SECOND: 1000 },
          context,
        ),
    });
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
      await stop();
    }
  }, 60_000);
});

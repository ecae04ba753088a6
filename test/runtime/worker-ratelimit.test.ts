// A queue that names a ratelimit needs a limiter for it: when no integration gives one, start-up
// stops with one sentence (the queue, the name, the fix) before any SQS call, instead of running
// the queue unlimited.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../templates/worker/src/runtime/errors.ts';
import type { WorkerHooks } from '../../templates/worker/src/runtime/hooks.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker } from '../../templates/worker/src/runtime/worker.ts';

const resize = defineTask({ name: 'resize', args: z.tuple([z.string()]), run: async () => undefined });

const start = (hooks?: WorkerHooks) =>
  startWorker({
    // Nothing listens here: the check must come before SQS is asked anything.
    sqs: { region: 'us-west-1', endpoint: 'http://127.0.0.1:9' },
    queues: [{ queue: 'images', task: 'resize', ratelimit: 'img-limit' }],
    tasks: [resize],
    naming: { env: 'local', user: 'ann' },
    concurrency: 1,
    metrics: createMetrics('rl_check', { defaultMetrics: false }),
    log: createLogger('rl-check', 'silent'),
    hooks,
  });

describe('a queue with a ratelimit name', () => {
  it.each([
    ['no integration at all', undefined],
    ['integrations, none of which limits', { onTaskEvent() {} } satisfies WorkerHooks],
    ['a limiter hook that has none for this name', { limiterFor: () => undefined } satisfies WorkerHooks],
  ])('stops start-up with the queue, the name and the fix, given %s', async (_, hooks) => {
    const error = await start(hooks).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'queue "images" names ratelimit "img-limit", but this worker has no ratelimit integration to enforce it; remove ratelimit from that queue in src/config/queues.ts, or create the worker with the ratelimit integration (create-be-worker --with ratelimit)',
    );
  });
});

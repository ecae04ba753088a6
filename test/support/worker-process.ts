// A worker as its own process, for tests that kill, signal or fork it:
//   RUN_LOG=… SQS_ENDPOINT=… BE_WORKER_USER=… node test/support/worker-process.ts
// It consumes `nap` from the queue "naps", or the task of TEST_QUEUE=<queue>:<task> (test/support/tasks.ts).
import { z } from 'zod';
import { coreEnvSchema, parseEnv } from '../../templates/worker/src/runtime/config.ts';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/hooks.ts';
import { runWorker } from '../../templates/worker/src/runtime/run.ts';

// RATELIMIT_MODULE: the ratelimit integration of a generated worker, holding "naps" to its limit.
const ratelimit = process.env.RATELIMIT_MODULE
  ? ((await import(process.env.RATELIMIT_MODULE)) as {
      ratelimitEnv: z.ZodRawShape;
      ratelimit(config: object, context: IntegrationContext): Promise<WorkerHooks>;
    })
  : undefined;

// IDEMPOTENCY_MODULE: the idempotency integration of a generated worker, keeping the keys of `once`.
const idempotency = process.env.IDEMPOTENCY_MODULE
  ? ((await import(process.env.IDEMPOTENCY_MODULE)) as {
      idempotencyEnv: z.ZodRawShape;
      idempotency(config: object, context: IntegrationContext): Promise<WorkerHooks>;
    })
  : undefined;

const [queue = 'naps', task = 'nap'] = (process.env.TEST_QUEUE ?? 'naps:nap').split(':');

await runWorker({
  name: 'test-worker',
  loadConfig: () => parseEnv(z.object(coreEnvSchema({ region: 'us-east-1' })), process.env),
  // As a generated main.ts does: the tasks are imported only where they run.
  loadWork: async () => ({
    queues: [{ queue, task, ...(ratelimit ? { ratelimit: queue } : {}) }],
    tasks: (await import('./tasks.ts')).testTasks,
    integrations: async (_config: object, context: IntegrationContext) => [
      ...(ratelimit
        ? [await ratelimit.ratelimit(parseEnv(z.object(ratelimit.ratelimitEnv), process.env), context)]
        : []),
      ...(idempotency
        ? [
            await idempotency.idempotency(
              {
                ...parseEnv(z.object(idempotency.idempotencyEnv), process.env),
                APP_ENV: process.env.APP_ENV ?? 'local',
              },
              context,
            ),
          ]
        : []),
    ],
  }),
});

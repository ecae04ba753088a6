// A worker as its own process, for tests that kill, signal or fork it:
//   RUN_LOG=… SQS_ENDPOINT=… BE_WORKER_USER=… node test/support/worker-process.ts
// It consumes `nap` from the queue "naps".
import { z } from 'zod';
import { coreEnvSchema, parseEnv } from '../../templates/worker/src/runtime/config.ts';
import { runWorker } from '../../templates/worker/src/runtime/run.ts';
import { testTasks } from './tasks.ts';

await runWorker({
  name: 'test-worker',
  loadConfig: () => parseEnv(z.object(coreEnvSchema({ region: 'us-east-1' })), process.env),
  queues: [{ queue: 'naps', task: 'nap' }],
  tasks: testTasks,
});

// What `npm run dev` runs in watch mode, again on every change: first this worker's queues and
// their dead-letter queues on the local SQS (so that a queue added meanwhile, by `be-worker
// add-queue`, exists before the worker looks for it), then the worker itself (src/main.ts).
import { loadConfig, workerName } from '../src/config/config.ts';
import { createLocalQueues } from '../src/local-queues.ts';
import { explainStartupError, type SqsTarget, sqsTarget } from '../src/runtime/index.ts';

// A restart lets the old worker's open long poll finish (one abandoned would hide the next task
// sent for its visibility timeout): a short wait makes that a second. Unless .env sets another.
process.env.RECEIVE_WAIT_SECONDS ||= '1';

let target: SqsTarget | undefined;
try {
  const config = loadConfig();
  target = sqsTarget(config);
  const names = await createLocalQueues(config, target.endpoint ?? '');
  console.log(`Queues on the local SQS: ${names.join(', ')} (and their err- DLQs)`);
} catch (error) {
  console.error(`${workerName} cannot start: ${explainStartupError(error, target)}`);
  process.exit(1);
}
// Imported only now: its imports would otherwise run before the queues exist.
await import('../src/main.ts');

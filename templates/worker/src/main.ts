// The worker's entry point: configuration, then the HTTP server, then the queue consumers.
import { loadConfig, workerName } from './config/config.ts';
import { queues } from './config/queues.ts';
import { runWorker } from './runtime/index.ts';
import { tasks } from './tasks/index.ts';

await runWorker({ name: workerName, loadConfig, queues, tasks });

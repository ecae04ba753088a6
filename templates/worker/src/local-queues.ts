// This worker's queues and their err- dead-letter queues on a local SQS (fauxqs): `npm run dev`
// creates them on its embedded SQS, and `docker compose up` runs this file before the worker.
// Queues in AWS are made by `be-worker provision`, which also plans, tags and checks them.
import { type Config, loadConfig } from './config/config.ts';
import { queues } from './config/queues.ts';
import { ConfigError, createSqsClient, fullQueueName, provisionQueues } from './runtime/index.ts';

export async function createLocalQueues(config: Config, endpoint: string): Promise<string[]> {
  const naming = { env: config.APP_ENV, user: config.BE_WORKER_USER };
  const names = queues.map((binding) => fullQueueName(binding.queue, naming));
  await provisionQueues(createSqsClient({ region: config.AWS_REGION, endpoint }), names);
  return names;
}

if (import.meta.main) {
  try {
    const config = loadConfig();
    if (!config.SQS_ENDPOINT) {
      throw new ConfigError(
        'SQS_ENDPOINT is not set: this creates queues on a local SQS only. For AWS run `npx be-worker provision`.',
      );
    }
    const names = await createLocalQueues(config, config.SQS_ENDPOINT);
    console.log(`Queues on ${config.SQS_ENDPOINT}: ${names.join(', ')} (and their err- DLQs)`);
  } catch (error) {
    console.error(`Cannot create the local queues: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

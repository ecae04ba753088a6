// This worker's queues and their err- dead-letter queues on a local SQS (fauxqs): `npm run dev`
// creates them on its embedded SQS each time it starts the worker, and `docker compose up` runs
// this file before the worker. Queues in AWS are made by `be-worker provision`, which also plans,
// tags and checks them.
import { type Config, loadConfig } from './config/config.ts';
import { queues } from './config/queues.ts';
import {
  ConfigError,
  createSqsClient,
  explainStartupError,
  fullQueueName,
  provisionQueues,
  redactUrls,
  type SqsTarget,
  sqsTarget,
} from './runtime/index.ts';

export async function createLocalQueues(config: Config, endpoint: string): Promise<string[]> {
  const naming = { env: config.APP_ENV, user: config.BE_WORKER_USER };
  const names = queues.map((binding) => fullQueueName(binding.queue, naming));
  const sqs = createSqsClient({ region: config.AWS_REGION, endpoint });
  try {
    await provisionQueues(sqs, names);
  } finally {
    sqs.destroy();
  }
  return names;
}

if (import.meta.main) {
  let target: SqsTarget | undefined;
  try {
    const config = loadConfig();
    target = sqsTarget(config);
    if (!target.endpoint) {
      throw new ConfigError(
        `APP_ENV=${config.APP_ENV} means AWS, and this creates queues on a local SQS only: set SQS_ENDPOINT, or create them in AWS with \`npm run be-worker -- provision --env ${config.APP_ENV}\``,
      );
    }
    const names = await createLocalQueues(config, target.endpoint);
    console.log(`Queues on ${redactUrls(target.endpoint)}: ${names.join(', ')} (and their err- DLQs)`);
  } catch (error) {
    console.error(`Cannot create the local queues: ${explainStartupError(error, target)}`);
    process.exitCode = 1;
  }
}

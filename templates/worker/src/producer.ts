// Sending tasks from TypeScript: `await sendTask(add, [2, 3])`. The arguments are type-checked
// against the task's schema and validated again before sending.

import type { z } from 'zod';
import { loadConfig } from './config/config.ts';
import { queues } from './config/queues.ts';
import { type ArgsSchema, createSqsClient, Producer, type SendOptions, type TaskDefinition } from './runtime/index.ts';

export function createProducer(config = loadConfig()): Producer {
  const sqs = createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT });
  return new Producer(sqs, queues, { env: config.APP_ENV, user: config.BE_WORKER_USER });
}

let shared: Producer | undefined;

export function sendTask<Args extends ArgsSchema>(
  task: TaskDefinition<Args>,
  args: z.input<Args>,
  options?: SendOptions,
) {
  shared ??= createProducer();
  return shared.send(task, args, options);
}

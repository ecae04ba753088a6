// The worker: one consumer per queue, one processor, one deleter per queue.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { QueueConsumer } from './consumer.ts';
import { BatchDeleter } from './deleter.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { NamingContext } from './naming.ts';
import { MessageProcessor } from './processor.ts';
import { type QueueBinding, type ResolvedQueue, resolveQueues } from './queues.ts';
import type { TaskDefinition } from './task.ts';

export interface WorkerOptions {
  sqs: SQSClient;
  queues: readonly QueueBinding[];
  tasks: readonly TaskDefinition[];
  naming: NamingContext;
  /** Tasks in flight at once, per queue. */
  concurrency: number;
  metrics: Metrics;
  log: Logger;
  /** Long-poll wait; tests shorten it. */
  waitTimeSeconds?: number;
}

export interface Worker {
  queues: readonly ResolvedQueue[];
  /** Every queue's poller is receiving. */
  isReady(): boolean;
  /** Stops receiving, waits up to `graceSeconds` for tasks in flight, flushes deletes. */
  stop(graceSeconds: number): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { sqs, log } = options;
  const tasks = taskRegistry(options.tasks, options.queues);
  const queues = await resolveQueues(sqs, options.queues, options.naming);
  const processor = new MessageProcessor({ sqs, tasks, metrics: options.metrics, log });

  const running = queues.map((queue) => {
    const deleter = new BatchDeleter(sqs, queue.url);
    const consumer = new QueueConsumer({
      sqs,
      queueUrl: queue.url,
      concurrency: options.concurrency,
      waitTimeSeconds: options.waitTimeSeconds,
      handle: (message) => processor.process(queue, deleter, message),
    });
    consumer.on('receive_error', (error, attempt) =>
      log.error({ queue: queue.fullName, attempt, err: error }, 'receiving from SQS failed; retrying'),
    );
    consumer.on('recovered', () => log.info({ queue: queue.fullName }, 'receiving from SQS again'));
    consumer.on('handler_error', (error, message) =>
      log.error({ queue: queue.fullName, messageId: message.MessageId, err: error }, 'message handling failed'),
    );
    consumer.start();
    return { queue, consumer, deleter };
  });
  log.info({ queues: queues.map((queue) => queue.fullName), concurrency: options.concurrency }, 'worker started');

  return {
    queues,
    isReady: () => running.every(({ consumer }) => consumer.healthy),
    async stop(graceSeconds) {
      log.info({ graceSeconds }, 'stopping: no new messages, waiting for tasks in flight');
      const unfinished = await Promise.all(running.map(({ consumer }) => consumer.stop(graceSeconds * 1000)));
      await Promise.all(running.map(({ deleter }) => deleter.flush()));
      const left = unfinished.reduce((sum, count) => sum + count, 0);
      if (left > 0)
        log.warn({ left }, 'tasks still running at the end of the grace period; SQS will deliver them again');
      log.info('worker stopped');
    },
  };
}

/** Tasks by name; a queue whose task is not registered stops start-up. */
function taskRegistry(
  tasks: readonly TaskDefinition[],
  queues: readonly QueueBinding[],
): ReadonlyMap<string, TaskDefinition> {
  const registry = new Map<string, TaskDefinition>();
  for (const task of tasks) {
    if (registry.has(task.name)) throw new Error(`task "${task.name}" is registered twice in src/tasks/index.ts`);
    registry.set(task.name, task);
  }
  for (const { queue, task } of queues) {
    if (!registry.has(task)) {
      throw new Error(`queue "${queue}" runs task "${task}", which is not in src/tasks/index.ts; add it there`);
    }
  }
  return registry;
}

// The worker: per queue, one consumer (receiving), one client (deleting, retrying,
// dead-lettering); one processor for all.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { QueueConsumer } from './consumer.ts';
import type { WorkerHooks } from './hooks.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { NamingContext } from './naming.ts';
import { MessageProcessor } from './processor.ts';
import { QueueClient } from './queue-client.ts';
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
  /** The integrations' hooks (src/integrations/). */
  hooks?: WorkerHooks;
}

export interface Worker {
  queues: readonly ResolvedQueue[];
  /** Every queue's poller is receiving. */
  isReady(): boolean;
  /**
   * Stops receiving at once, lets tasks in flight finish for up to `graceSeconds`, gives the
   * rest back to the queue (visibility 0) and flushes the deletes.
   */
  stop(graceSeconds: number): Promise<void>;
  /** Gives everything in flight back to the queue now: a forced exit's last step. */
  releaseAll(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { sqs, log, metrics } = options;
  const tasks = taskRegistry(options.tasks, options.queues);
  const queues = await resolveQueues(sqs, options.queues, options.naming);
  const processor = new MessageProcessor({ tasks, metrics, log, hooks: options.hooks });

  const running = queues.map((queue) => {
    const client = new QueueClient(sqs, queue);
    const consumer = new QueueConsumer({
      sqs,
      queueUrl: queue.url,
      concurrency: options.concurrency,
      waitTimeSeconds: options.waitTimeSeconds,
      limiter: options.hooks?.limiterFor?.(queue),
      handle: (message, lease, slot) => processor.process(client, message, lease, slot),
    });
    const where = { queue: queue.fullName };
    consumer.on('receive_error', (error, attempt) =>
      log.error({ ...where, attempt, err: error }, 'receiving from SQS failed; retrying with back-off'),
    );
    consumer.on('recovered', () => log.info(where, 'receiving from SQS again'));
    consumer.on('handler_error', (error, message) =>
      log.error({ ...where, messageId: message.MessageId, err: error }, 'message handling failed'),
    );
    consumer.on('released', (count) => {
      metrics.consumerTasks.inc({ name: queue.task, queue: queue.queue, state: 'released' }, count);
      log.info({ ...where, count }, 'released messages still in flight back to the queue');
    });
    consumer.on('release_error', (error) =>
      log.error(
        { ...where, err: error },
        'could not release messages; SQS delivers them after their visibility timeout',
      ),
    );
    consumer.start();
    return { consumer, client };
  });
  log.info({ queues: queues.map((queue) => queue.fullName), concurrency: options.concurrency }, 'worker started');

  return {
    queues,
    isReady: () => running.every(({ consumer }) => consumer.healthy),
    async stop(graceSeconds) {
      log.info({ graceSeconds }, 'stopping: no new messages, waiting for tasks in flight');
      await Promise.all(
        running.map(async ({ consumer, client }) => {
          const left = await consumer.stop(graceSeconds * 1000);
          if (left > 0) await consumer.release();
          await client.flush();
        }),
      );
      log.info('worker stopped');
    },
    async releaseAll() {
      await Promise.all(
        running.map(async ({ consumer, client }) => {
          await consumer.release();
          await client.flush();
        }),
      );
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

// What happens to one received message: decode, find the task, check its arguments, run it,
// delete it on success. Every outcome is logged and counted.
//
// This slice leaves failed and unreadable messages in the queue: they come back after the
// visibility timeout, and the queue's redrive policy moves them to the `err-` DLQ after
// `maxReceiveCount` receives.
import { ChangeMessageVisibilityCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { type CeleryMessage, decodeMessage } from './codec.ts';
import type { BatchDeleter } from './deleter.ts';
import { UnknownTaskError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ResolvedQueue } from './queues.ts';
import { parseArguments, type TaskDefinition } from './task.ts';

/** SQS's longest visibility timeout: 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

export interface ProcessorOptions {
  sqs: SQSClient;
  tasks: ReadonlyMap<string, TaskDefinition>;
  metrics: Metrics;
  log: Logger;
}

export class MessageProcessor {
  private readonly options: ProcessorOptions;

  constructor(options: ProcessorOptions) {
    this.options = options;
  }

  async process(queue: ResolvedQueue, deleter: BatchDeleter, message: Message): Promise<void> {
    const { metrics, log } = this.options;
    const labels = { name: queue.task, queue: queue.queue };
    metrics.consumerTasks.inc({ ...labels, state: 'received' });

    let celery: CeleryMessage;
    try {
      celery = decodeMessage(message.Body ?? '');
    } catch (error) {
      metrics.consumerTasks.inc({ ...labels, state: 'decode_error' });
      log.error({ queue: queue.fullName, messageId: message.MessageId, err: error }, 'message is not a Celery task');
      return;
    }

    const taskLabels = { name: celery.task, queue: queue.queue };
    const taskLog = log.child({ task: celery.task, id: celery.id, queue: queue.fullName, retries: celery.retries });
    const now = Date.now();

    if (celery.expires && celery.expires.getTime() <= now) {
      metrics.workerTasks.inc({ ...taskLabels, state: 'expired' });
      taskLog.info({ expires: celery.expires }, 'task expired before it ran; deleting it');
      await this.#delete(queue, deleter, message);
      return;
    }

    if (celery.eta && celery.eta.getTime() > now + 1000) {
      // Never hold a message in memory until its eta: hide it in the queue until then.
      const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.ceil((celery.eta.getTime() - now) / 1000));
      await this.options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
      taskLog.debug({ eta: celery.eta, seconds }, 'task is not due yet; hidden until its eta');
      return;
    }

    let task: TaskDefinition;
    let args: unknown[];
    try {
      task = this.#task(celery.task);
      args = parseArguments(task, celery.args, celery.kwargs);
    } catch (error) {
      metrics.workerTasks.inc({ ...taskLabels, state: 'failed' });
      taskLog.error({ err: error }, 'task cannot run');
      return;
    }

    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (sentAt > 0) metrics.latency.observe(taskLabels, Math.max(0, now - sentAt) / 1000);
    metrics.workerTasks.inc({ ...taskLabels, state: 'started' });
    const stopTimer = metrics.runtime.startTimer(taskLabels);
    const signal = task.timeLimitSeconds
      ? AbortSignal.timeout(task.timeLimitSeconds * 1000)
      : new AbortController().signal;

    try {
      const result = await task.run(args, {
        id: celery.id,
        name: celery.task,
        queue: queue.queue,
        retries: celery.retries,
        signal,
        log: taskLog,
      });
      stopTimer();
      metrics.workerTasks.inc({ ...taskLabels, state: 'succeeded' });
      taskLog.info({ result }, 'task succeeded');
    } catch (error) {
      stopTimer();
      metrics.workerTasks.inc({ ...taskLabels, state: 'failed' });
      taskLog.error({ err: error }, 'task failed; it runs again after the visibility timeout');
      return;
    }
    await this.#delete(queue, deleter, message);
  }

  #task(name: string): TaskDefinition {
    const task = this.options.tasks.get(name);
    if (!task) {
      throw new UnknownTaskError(
        `no task "${name}" in this worker (it has: ${[...this.options.tasks.keys()].join(', ')}); register it in src/tasks/index.ts`,
      );
    }
    return task;
  }

  async #delete(queue: ResolvedQueue, deleter: BatchDeleter, message: Message): Promise<void> {
    try {
      await deleter.delete(message.ReceiptHandle ?? '');
      this.options.metrics.consumerTasks.inc({ name: queue.task, queue: queue.queue, state: 'deleted' });
    } catch (error) {
      this.options.log.warn(
        { queue: queue.fullName, messageId: message.MessageId, err: error },
        'delete failed; the message will be delivered again',
      );
    }
  }
}

// What happens to one received message. Every message ends in exactly one place — done (deleted),
// retried (a delayed copy, then deleted), or in the dead-letter queue with its reason (then
// deleted) — and each step is counted. A step that fails leaves the message in the queue: SQS
// delivers it again after its visibility timeout (at-least-once).
import type { Message } from '@aws-sdk/client-sqs';
import { type CeleryMessage, decodeMessage, isoTime, SQS_MAX_BODY_BYTES, withHeaders } from './codec.ts';
import {
  NonRetryableError,
  PayloadTooLargeError,
  RetryLaterError,
  TimeLimitExceededError,
  UnknownTaskError,
} from './errors.ts';
import { combineHooks, type TaskEvent, type WorkerHooks } from './hooks.ts';
import type { Logger } from './logger.ts';
import type { Metrics, WorkerTaskState } from './metrics.ts';
import { MAX_VISIBILITY_SECONDS, type QueueClient } from './queue-client.ts';
import { retryDelaySeconds } from './retry.ts';
import { parseArguments, retryPolicy, type TaskDefinition } from './task.ts';

export interface ProcessorOptions {
  tasks: ReadonlyMap<string, TaskDefinition>;
  metrics: Metrics;
  log: Logger;
  hooks?: WorkerHooks;
}

type Labels = { name: string; queue: string };

/** A message not yet due is hidden again unless its eta is this close. */
const ETA_SLACK_MS = 1000;

export class MessageProcessor {
  readonly #tasks: ReadonlyMap<string, TaskDefinition>;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #hooks: ReturnType<typeof combineHooks>;

  constructor({ tasks, metrics, log, hooks }: ProcessorOptions) {
    this.#tasks = tasks;
    this.#metrics = metrics;
    this.#log = log;
    this.#hooks = combineHooks(hooks ? [hooks] : []);
  }

  /**
   * `slot` resolves true when the task may run (see QueueConsumer), false if the message was
   * released while it waited. Messages that do not run a task (expired, delayed, dead-lettered)
   * take no slot.
   */
  async process(
    client: QueueClient,
    message: Message,
    lease: AbortSignal,
    slot: () => Promise<boolean>,
  ): Promise<void> {
    const { queue } = client;
    const queueLabels = { name: queue.task, queue: queue.queue };
    this.#metrics.consumerTasks.inc({ ...queueLabels, state: 'received' });
    const log = this.#log.child({ queue: queue.fullName, messageId: message.MessageId });

    let celery: CeleryMessage;
    try {
      const bytes = Buffer.byteLength(message.Body ?? '');
      if (bytes > SQS_MAX_BODY_BYTES) {
        throw new PayloadTooLargeError(
          `the body is ${bytes} bytes, over the ${SQS_MAX_BODY_BYTES} a Celery message may have`,
        );
      }
      celery = decodeMessage(message.Body ?? '');
    } catch (error) {
      this.#metrics.consumerTasks.inc({ ...queueLabels, state: 'decode_error' });
      log.error({ err: error }, 'message is not a Celery task; dead-lettering it');
      await this.#deadLetter(client, message, { error: error as Error }, queueLabels, log);
      return;
    }

    const labels = { name: celery.task, queue: queue.queue };
    const taskLog = log.child({ task: celery.task, id: celery.id, retries: celery.retries });
    const now = Date.now();

    if (celery.expires && celery.expires.getTime() <= now) {
      this.#record('expired', labels, message, celery);
      taskLog.info({ expires: celery.expires }, 'task expired before it ran; deleting it');
      await this.#delete(client, message, taskLog);
      return;
    }

    if (celery.eta && celery.eta.getTime() > now + ETA_SLACK_MS) {
      await this.#delayUntilEta(client, message, celery.eta, taskLog);
      return;
    }

    let task: TaskDefinition;
    let args: unknown[];
    try {
      task = this.#task(celery.task);
      args = parseArguments(task, celery.args, celery.kwargs);
    } catch (error) {
      taskLog.error({ err: error }, 'task cannot run; dead-lettering it');
      const reason = { error: error as Error, task: celery.task, taskId: celery.id, retries: celery.retries };
      await this.#deadLetter(client, message, reason, labels, taskLog, celery);
      return;
    }

    // Hidden from here on, while it waits for a slot and while it runs.
    const heartbeat = keepHidden(client, message, lease, (error) =>
      taskLog.warn({ err: error }, 'could not extend the visibility timeout'),
    );
    if (!(await slot())) {
      await heartbeat.stop();
      return;
    }
    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (sentAt > 0) this.#metrics.latency.observe(labels, Math.max(0, Date.now() - sentAt) / 1000);
    this.#record('started', labels, message, celery);
    const stopTimer = this.#metrics.runtime.startTimer(labels);
    let failure: Error | undefined;
    try {
      const ctx = {
        id: celery.id,
        name: celery.task,
        queue: queue.queue,
        retries: celery.retries,
        signal: lease,
        log: taskLog,
      };
      const result = await this.#hooks.aroundTask(this.#event('started', labels, message, celery), () =>
        runWithTimeLimit(task, args, ctx),
      );
      taskLog.info({ result }, 'task succeeded');
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    } finally {
      stopTimer();
      // Before anything else touches the message: no extension may race the delete.
      await heartbeat.stop();
    }

    if (lease.aborted) {
      taskLog.warn('the message was released during shutdown; another worker will run it');
      return;
    }
    if (!failure) {
      this.#record('succeeded', labels, message, celery);
      // The slot is free once the task is done: the delete joins the next batch in the background
      // (the worker flushes pending deletes when it stops), so a delete's round trip never idles a slot.
      void this.#delete(client, message, taskLog);
      return;
    }
    await this.#afterFailure(client, message, celery, task, failure, taskLog);
  }

  async #afterFailure(
    client: QueueClient,
    message: Message,
    celery: CeleryMessage,
    task: TaskDefinition,
    error: Error,
    log: Logger,
  ): Promise<void> {
    const labels = { name: celery.task, queue: client.queue.queue };
    const policy = retryPolicy(task);
    const reason = { error, task: celery.task, taskId: celery.id, retries: celery.retries };
    const final = error instanceof NonRetryableError || celery.retries >= policy.maxRetries;
    this.#record('failed', labels, message, celery, { error, final });
    if (final) {
      const why = error instanceof NonRetryableError ? 'not retryable' : `${celery.retries} retries used`;
      log.error({ err: error }, `task failed (${why}); dead-lettering it`);
      await this.#deadLetter(client, message, reason, labels, log, celery);
      return;
    }
    const delay = error instanceof RetryLaterError ? error.delaySeconds : retryDelaySeconds(policy, celery.retries);
    let retry: string;
    try {
      retry = withHeaders(celery, {
        retries: celery.retries + 1,
        eta: isoTime(new Date(Date.now() + delay * 1000)),
      });
    } catch (encodeError) {
      log.error({ err: encodeError }, 'the retry cannot be encoded; dead-lettering the task');
      await this.#deadLetter(client, message, { ...reason, error: encodeError as Error }, labels, log, celery);
      return;
    }
    log.warn({ err: error, delaySeconds: delay }, `task failed; retry ${celery.retries + 1} of ${policy.maxRetries}`);
    try {
      await client.sendDelayed(message, retry, delay);
    } catch (sendError) {
      log.error({ err: sendError }, 'could not send the retry; the message will be delivered again');
      return;
    }
    this.#record('retried', labels, message, celery, { error });
    await this.#delete(client, message, log);
  }

  /** A message not yet due goes back to the queue hidden until its eta; it is never held here. */
  async #delayUntilEta(client: QueueClient, message: Message, eta: Date, log: Logger): Promise<void> {
    const seconds = (eta.getTime() - Date.now()) / 1000;
    try {
      if (client.queue.fifo) {
        await client.hide(message, Math.min(seconds, MAX_VISIBILITY_SECONDS));
        log.debug({ eta }, 'task not due yet; hidden until its eta');
        return;
      }
      await client.sendDelayed(message, message.Body ?? '', seconds);
    } catch (error) {
      log.error({ err: error }, 'could not delay the task until its eta; the message will be delivered again');
      return;
    }
    log.debug({ eta }, 'task not due yet; sent again with a delay');
    await this.#delete(client, message, log);
  }

  async #deadLetter(
    client: QueueClient,
    message: Message,
    reason: Parameters<QueueClient['deadLetter']>[1],
    labels: Labels,
    log: Logger,
    celery?: CeleryMessage,
  ): Promise<void> {
    try {
      await client.deadLetter(message, reason);
    } catch (error) {
      log.error({ err: error }, 'could not dead-letter the message; it will be delivered again');
      return;
    }
    this.#record('dead_lettered', labels, message, celery, { error: reason.error });
    await this.#delete(client, message, log);
  }

  async #delete(client: QueueClient, message: Message, log: Logger): Promise<void> {
    try {
      await client.delete(message);
      this.#metrics.consumerTasks.inc({ name: client.queue.task, queue: client.queue.queue, state: 'deleted' });
    } catch (error) {
      log.warn({ err: error }, 'delete failed; the message will be delivered again');
    }
  }

  /** Counts a state change and tells the integrations. */
  #record(
    state: WorkerTaskState,
    labels: Labels,
    message: Message,
    celery?: CeleryMessage,
    extra: Partial<TaskEvent> = {},
  ): void {
    this.#metrics.workerTasks.inc({ ...labels, state });
    this.#hooks.onTaskEvent(this.#event(state, labels, message, celery, extra));
  }

  #event(
    state: WorkerTaskState,
    labels: Labels,
    message: Message,
    celery?: CeleryMessage,
    extra: Partial<TaskEvent> = {},
  ): TaskEvent {
    return {
      state,
      task: labels.name,
      queue: labels.queue,
      ...(message.MessageId ? { messageId: message.MessageId } : {}),
      ...(celery ? { id: celery.id, retries: celery.retries, headers: celery.headers } : {}),
      ...extra,
    };
  }

  #task(name: string): TaskDefinition {
    const task = this.#tasks.get(name);
    if (!task) {
      throw new UnknownTaskError(
        `no task "${name}" in this worker (it has: ${[...this.#tasks.keys()].join(', ')}); register it in src/tasks/index.ts`,
      );
    }
    return task;
  }
}

/**
 * Runs the task with its time limit: `ctx.signal` aborts at the limit (or when the lease is
 * released), and a task that ignores it fails at the limit all the same.
 */
async function runWithTimeLimit(
  task: TaskDefinition,
  args: unknown[],
  ctx: Parameters<TaskDefinition['run']>[1],
): Promise<unknown> {
  const seconds = task.timeLimitSeconds;
  if (!seconds) return task.run(args, ctx);
  const limit = new AbortController();
  const timer = setTimeout(
    () => limit.abort(new TimeLimitExceededError(`task ${task.name} ran past its time limit of ${seconds} s`)),
    seconds * 1000,
  );
  const overrun = new Promise<never>((_, reject) =>
    limit.signal.addEventListener('abort', () => reject(limit.signal.reason), { once: true }),
  );
  try {
    return await Promise.race([
      task.run(args, { ...ctx, signal: AbortSignal.any([ctx.signal, limit.signal]) }),
      overrun,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * While a task runs, extends its message's visibility by one timeout every half timeout, so a long
 * task is not delivered again under it. `stop` waits for an extension in flight, so none can land
 * after the message is deleted.
 */
function keepHidden(client: QueueClient, message: Message, lease: AbortSignal, onError: (error: Error) => void) {
  const seconds = client.queue.visibilityTimeoutSeconds;
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      if (!lease.aborted) pending = client.hide(message, seconds).catch(onError);
    },
    Math.max(1000, (seconds * 1000) / 2),
  );
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await pending;
    },
  };
}

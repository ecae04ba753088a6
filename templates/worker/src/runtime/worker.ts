// The worker: per queue, one consumer (receiving) and one client (deleting, retrying,
// dead-lettering); one processor and one lease keeper for all.
import { buildRoutes, type TaskRoutes } from './canvas.ts';
import { QueueConsumer } from './consumer.ts';
import { watchQueueDepth } from './depth.ts';
import { ConfigError } from './errors.ts';
import type { ReceiveLimiter, WorkerHooks } from './hooks.ts';
import { LeaseKeeper } from './lease.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { NamingContext } from './naming.ts';
import { MessageProcessor } from './processor.ts';
import { QueueClient } from './queue-client.ts';
import { type QueueBinding, type ResolvedQueue, resolveQueues } from './queues.ts';
import { TaskSender } from './sender.ts';
import { createSqsClient, type SqsSettings } from './sqs.ts';
import type { TaskDefinition } from './task.ts';
import {
  DEFAULT_SHUTDOWN_GRACE_SECONDS,
  MAX_BATCH,
  STOP_BUDGET_SECONDS,
  stopDeadlineSeconds,
  within,
} from './timing.ts';

export interface WorkerOptions {
  /** Where SQS is: the worker makes its clients (with their timeouts) from this. */
  sqs: SqsSettings;
  queues: readonly QueueBinding[];
  tasks: readonly TaskDefinition[];
  /** Where the fleet's other tasks run (src/config/routes.ts): a chain's next step and links go there. */
  routes?: TaskRoutes;
  naming: NamingContext;
  /** Tasks in flight at once, per queue. */
  concurrency: number;
  metrics: Metrics;
  log: Logger;
  /** Long-poll wait (RECEIVE_WAIT_SECONDS); at most DEFAULT_WAIT_SECONDS, which a stop's deadline allows for. */
  waitTimeSeconds?: number;
  /** The integrations' hooks (src/integrations/). */
  hooks?: WorkerHooks;
  /** A task ran past its hard time limit and was given up: the process must end to end the run. */
  onStuck?(reason: string): void;
  /** The grace the process gives its tasks when it stops (30 s): a given-up task's retry waits until the stop is over. */
  shutdownGraceSeconds?: number;
  /** An eta further away than this many days is refused, dead-lettered with EtaTooFarError (365 by default). */
  etaHorizonDays?: number;
  /** Read each queue's depth from SQS this often into the metrics; 0 or unset: never (in prefork, one process does). */
  queueDepthIntervalSeconds?: number;
}

export interface Worker {
  queues: readonly ResolvedQueue[];
  /** Every queue's poller is receiving. */
  isReady(): boolean;
  /** False once the worker needs its process restarted: a poller stuck, or a run given up. */
  isAlive(): boolean;
  /**
   * Stops receiving, lets tasks in flight finish for up to `graceSeconds`, gives the rest back to
   * the queue (visible at once) and flushes the deletes — those two within STOP_BUDGET_SECONDS
   * more, whatever SQS does. Receives still open are let finish first (see QueueConsumer.stop).
   */
  stop(graceSeconds: number): Promise<void>;
  /** Gives everything in flight back to the queue, trying for a second at most: a forced exit's last step. */
  releaseAll(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { log, metrics } = options;
  const tasks = taskRegistry(options.tasks, options.queues);
  const limiters = limitersOf(options.queues, options.hooks);
  // One long poll per 10 slots of each queue (consumer.ts).
  const sqs = createSqsClient(options.sqs, options.queues.length * Math.ceil(options.concurrency / MAX_BATCH));
  const queues = await resolveQueues(sqs, options.queues, options.naming, { log }).catch((error: Error) => {
    sqs.destroy();
    throw error;
  });
  let stuck = false;
  const processor = new MessageProcessor({
    tasks,
    metrics,
    log,
    hooks: options.hooks,
    routes: buildRoutes(options.queues, options.routes ?? {}, options.naming),
    sender: new TaskSender(sqs, options.hooks?.payloads),
    stuckRetryDelaySeconds: stopDeadlineSeconds(options.shutdownGraceSeconds ?? DEFAULT_SHUTDOWN_GRACE_SECONDS) + 5,
    etaHorizonDays: options.etaHorizonDays,
    onStuck(reason) {
      stuck = true;
      log.fatal({ reason }, 'a task was given up at its hard time limit; this process must restart to end it');
      options.onStuck?.(reason);
    },
  });
  const leases = watchLeases(new LeaseKeeper(options.sqs), log);

  const running = queues.map((queue) => {
    const client = new QueueClient(sqs, queue, options.hooks?.payloads);
    const consumer = new QueueConsumer({
      sqs,
      queue,
      leases,
      concurrency: options.concurrency,
      waitTimeSeconds: options.waitTimeSeconds,
      limiter: limiters.get(queue.queue),
      handle: (message, lease, turn) => processor.process(client, message, lease, turn),
    });
    const where = { queue: queue.fullName };
    consumer.on('receive_error', (error, attempt) =>
      log.error({ ...where, attempt, err: error }, 'receiving from SQS failed; retrying with back-off'),
    );
    consumer.on('recovered', () => log.info(where, 'receiving from SQS again'));
    consumer.on('handler_error', (error, message) =>
      log.error({ ...where, messageId: message.MessageId, err: error }, 'message handling failed'),
    );
    consumer.on('received', (messages) => {
      const sent = messages.map((message) => Number(message.Attributes?.SentTimestamp)).filter((time) => time > 0);
      if (sent.length) metrics.oldestMessageAge.set({ queue: queue.queue }, (Date.now() - Math.min(...sent)) / 1000);
    });
    consumer.on('released', (count, failed) => {
      metrics.consumerTasks.inc({ name: queue.task, queue: queue.queue, state: 'released' }, count);
      log.info({ ...where, count }, 'gave messages in flight back to the queue');
      if (failed > 0) {
        log.error(
          { ...where, failed },
          'could not give messages back; SQS delivers them after their visibility timeout',
        );
      }
    });
    consumer.start();
    return { consumer, client };
  });
  log.info({ queues: queues.map((queue) => queue.fullName), concurrency: options.concurrency }, 'worker started');
  const isReady = () => running.every(({ consumer }) => consumer.healthy);
  const stopDepth = options.queueDepthIntervalSeconds
    ? watchQueueDepth({
        sqs,
        queues,
        metrics,
        log,
        intervalSeconds: options.queueDepthIntervalSeconds,
        skip: () => !isReady(),
      })
    : () => {};

  const giveBackAndFlush = (left: boolean) =>
    Promise.all(
      running.map(async ({ consumer, client }) => {
        if (left) await consumer.release();
        await client.flush();
      }),
    );
  return {
    queues,
    isReady,
    isAlive: () => !stuck && running.every(({ consumer }) => consumer.alive),
    async stop(graceSeconds) {
      log.info({ graceSeconds }, 'stopping: no new messages, waiting for tasks in flight');
      stopDepth();
      const left = await Promise.all(running.map(({ consumer }) => consumer.stop(graceSeconds * 1000)));
      const done = await within(
        STOP_BUDGET_SECONDS * 1000,
        giveBackAndFlush(left.some((count) => count > 0)).then(() => true),
        false,
      );
      if (!done)
        log.error('SQS did not answer in time: messages not given back come back after their visibility timeout');
      await leases.close();
      sqs.destroy();
      log.info('worker stopped');
    },
    async releaseAll() {
      await within(1000, giveBackAndFlush(true), undefined);
    },
  };
}

function watchLeases(leases: LeaseKeeper, log: Logger): LeaseKeeper {
  const lastWarned = new Map<string, number>();
  leases.on('lost', (reason) => log.warn({ reason }, 'a message lease was lost: SQS may deliver it to another worker'));
  leases.on('extend_error', (queueUrl, reason) => {
    // Once per queue every 10 s: an outage fails an extension round every second.
    if (Date.now() - (lastWarned.get(queueUrl) ?? 0) < 10_000) return;
    lastWarned.set(queueUrl, Date.now());
    log.warn({ queueUrl, reason }, 'could not extend message leases; trying again until they expire');
  });
  leases.on('expired', (count, pausedMs) =>
    log.error(
      { leases: count, pausedMs: Math.round(pausedMs) },
      'message leases expired while this process did not run (paused: SIGSTOP, a frozen container or VM?); SQS may deliver them to another worker, so their results here are not recorded',
    ),
  );
  leases.on('release_error', (reason) => log.warn({ reason }, 'SQS did not take a message given back'));
  leases.on('error', (error) => log.error({ err: error }, 'the lease keeper thread failed'));
  return leases;
}

/** Each queue's limiter; a queue that names a ratelimit nothing enforces stops start-up. */
function limitersOf(
  queues: readonly QueueBinding[],
  hooks: WorkerHooks | undefined,
): ReadonlyMap<string, ReceiveLimiter | undefined> {
  const limiters = new Map<string, ReceiveLimiter | undefined>();
  for (const binding of queues) {
    const limiter = hooks?.limiterFor?.(binding);
    if (binding.ratelimit && !limiter) {
      throw new ConfigError(
        `queue "${binding.queue}" names ratelimit "${binding.ratelimit}", but this worker has no ratelimit integration to enforce it; remove ratelimit from that queue in src/config/queues.ts, or create the worker with the ratelimit integration (create-be-worker --with ratelimit)`,
      );
    }
    limiters.set(binding.queue, limiter);
  }
  return limiters;
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

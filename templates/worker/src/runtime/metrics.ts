// The four metrics of the Python template, same names and labels, so existing dashboards work.
// Its Python client exposes a counter named `…_tasks_count` as `…_tasks_count_total`, and so do we.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type WorkerTaskState = 'started' | 'succeeded' | 'failed' | 'retried' | 'dead_lettered' | 'expired';
export type ConsumerTaskState = 'received' | 'deleted' | 'delete_failed' | 'released' | 'decode_error' | 'lease_lost';

export interface Metrics {
  registry: Registry;
  workerTasks: Counter<'name' | 'queue' | 'state'>;
  consumerTasks: Counter<'name' | 'queue' | 'state'>;
  runtime: Histogram<'name' | 'queue'>;
  latency: Histogram<'name' | 'queue'>;
  eventLoopBlocks: Counter;
  /** Promise rejections nothing handled (a task that left one behind): logged, and the worker went on. */
  unhandledRejections: Counter;
  /** Messages in each queue and its `err-` queue, by kind (visible, in_flight, delayed), as SQS counts them. */
  queueMessages: Gauge<'queue' | 'kind'>;
  /** Age of the oldest message in the latest receive. */
  oldestMessageAge: Gauge<'queue'>;
  queueDepthErrors: Counter<'queue'>;
  /** Dead letters by reason, one of DEAD_LETTER_REASONS. */
  deadLetters: Counter<'name' | 'queue' | 'reason'>;
  /** State changes of tasks a schedule of src/config/schedules.ts started (their `schedule` header). */
  scheduleRuns: Counter<'schedule' | 'state'>;
  /** When a schedule's task last succeeded here (Unix seconds); when the watch began until then. */
  scheduleLastSuccess: Gauge<'schedule'>;
  /** The longest time between two firings of a schedule, its flexible window included. */
  scheduleInterval: Gauge<'schedule'>;
}

/** Why messages are dead-lettered, by the error's type: a closed list, so the label stays bounded. */
export const DEAD_LETTER_REASONS: Readonly<Record<string, string>> = {
  DecodeError: 'undecodable',
  PayloadTooLargeError: 'too_large',
  UnknownTaskError: 'unknown_task',
  InvalidArgumentsError: 'invalid_arguments',
  NonRetryableError: 'not_retryable',
  TimeLimitExceededError: 'time_limit',
  EtaTooFarError: 'eta_too_far',
  PayloadUnavailableError: 'payload_unavailable',
  PayloadPointerError: 'undecodable',
};
/** The reason of any other error: the task's own failure, its retries used up. */
export const TASK_FAILED_REASON = 'task_failed';

export function createMetrics(prefix: string, { defaultMetrics = true } = {}): Metrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const labelNames = ['name', 'queue', 'state'] as const;
  return {
    registry,
    workerTasks: new Counter({
      name: `${prefix}_worker_tasks_count_total`,
      help: 'Tasks by state: started, succeeded, failed, retried, dead_lettered, expired',
      labelNames,
      registers: [registry],
    }),
    consumerTasks: new Counter({
      name: `${prefix}_consumer_tasks_count_total`,
      help: 'SQS messages by state: received, deleted, delete_failed, released, decode_error, lease_lost',
      labelNames,
      registers: [registry],
    }),
    runtime: new Histogram({
      name: `${prefix}_tasks_runtime_seconds`,
      help: 'Task run time, prerun to postrun',
      labelNames: ['name', 'queue'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    latency: new Histogram({
      name: `${prefix}_tasks_latency_seconds`,
      help: 'Time from the message being sent (SQS SentTimestamp) to the task starting',
      labelNames: ['name', 'queue'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    eventLoopBlocks: new Counter({
      name: `${prefix}_event_loop_blocks_total`,
      help: 'Times the event loop was blocked for a second or more (a CPU-bound task?)',
      registers: [registry],
    }),
    unhandledRejections: new Counter({
      name: `${prefix}_unhandled_rejections_total`,
      help: 'Promise rejections nothing handled (a task that did not await one?): each logged, the worker went on',
      registers: [registry],
    }),
    // One process of a prefork pool reports these: the pool shows the largest, not a sum.
    queueMessages: new Gauge({
      name: `${prefix}_queue_messages`,
      help: 'Messages in the queue and its err- queue, by kind: visible, in_flight, delayed (SQS, every minute)',
      labelNames: ['queue', 'kind'],
      aggregator: 'max',
      registers: [registry],
    }),
    oldestMessageAge: new Gauge({
      name: `${prefix}_queue_oldest_message_age_seconds`,
      help: 'Age of the oldest message in the latest receive (SentTimestamp); 0 once the queue is empty',
      labelNames: ['queue'],
      aggregator: 'max',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: `${prefix}_dead_letters_total`,
      help: `Messages sent to the err- queue, by reason: ${[...Object.values(DEAD_LETTER_REASONS), TASK_FAILED_REASON].join(', ')}`,
      labelNames: ['name', 'queue', 'reason'],
      registers: [registry],
    }),
    scheduleRuns: new Counter({
      name: `${prefix}_schedule_runs_total`,
      help: 'Tasks started by a schedule (src/config/schedules.ts), by schedule and state: started, succeeded, failed, retried, dead_lettered, expired',
      labelNames: ['schedule', 'state'],
      registers: [registry],
    }),
    // The latest success in any process of a prefork pool is the pool's.
    scheduleLastSuccess: new Gauge({
      name: `${prefix}_schedule_last_success_timestamp_seconds`,
      help: "When a schedule's task last succeeded in this process (Unix time); until then, when the process started watching it (or the schedule's start)",
      labelNames: ['schedule'],
      aggregator: 'max',
      registers: [registry],
    }),
    scheduleInterval: new Gauge({
      name: `${prefix}_schedule_interval_seconds`,
      help: 'The longest time between two firings of a schedule, its flexible window included (none once it has ended)',
      labelNames: ['schedule'],
      aggregator: 'max',
      registers: [registry],
    }),
    queueDepthErrors: new Counter({
      name: `${prefix}_queue_depth_errors_total`,
      help: 'Queue depth reads that failed (the gauge keeps its last value)',
      labelNames: ['queue'],
      registers: [registry],
    }),
  };
}

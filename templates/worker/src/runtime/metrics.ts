// The four metrics of the Python template, same names and labels, so existing dashboards work.
// Its Python client exposes a counter named `…_tasks_count` as `…_tasks_count_total`, and so do we.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export type WorkerTaskState = 'started' | 'succeeded' | 'failed' | 'retried' | 'dead_lettered' | 'expired';
export type ConsumerTaskState = 'received' | 'deleted' | 'released' | 'decode_error' | 'lease_lost';

export interface Metrics {
  registry: Registry;
  workerTasks: Counter<'name' | 'queue' | 'state'>;
  consumerTasks: Counter<'name' | 'queue' | 'state'>;
  runtime: Histogram<'name' | 'queue'>;
  latency: Histogram<'name' | 'queue'>;
  eventLoopBlocks: Counter;
}

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
      help: 'SQS messages by state: received, deleted, released, decode_error, lease_lost',
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
  };
}

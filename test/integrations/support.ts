// The integration tests run the integrations as generated: modules of the all-on worker of the
// global set-up, with that worker's runtime and dependencies.
import { join } from 'node:path';
import { inject } from 'vitest';

import type {
  IntegrationContext,
  ProducerOptions,
  QueueBinding,
  QueueSettings,
  TaskDefinition,
  WorkerHooks,
} from '../../templates/worker/src/runtime/index.ts';

type Runtime = typeof import('../../templates/worker/src/runtime/index.ts');

export async function generated<T>(path: string): Promise<T> {
  return (await import(join(inject('allOnWorker'), path))) as T;
}

export const runtime = () => generated<Runtime>('src/runtime/index.ts');

/** The sum of a worker_tasks_count_total series over the given labels. */
export async function count(
  metrics: Awaited<ReturnType<Runtime['createMetrics']>>,
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metrics.workerTasks.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key as 'name'] === expected))
    .reduce((sum, { value }) => sum + value, 0);
}

export interface TestWorkerOptions {
  /** The SQS endpoint (fauxqs). */
  endpoint: string;
  /** Worker name and metric prefix. */
  name: string;
  /** The `<user>` of the queue names; the name by default. */
  user?: string;
  queues: QueueBinding[];
  tasks: TaskDefinition[];
  /** The integration under test, made with the worker's context. */
  integration(context: IntegrationContext): WorkerHooks | Promise<WorkerHooks>;
  logLevel?: string;
  producer?: ProducerOptions;
  /** The queues' settings (visibility timeout, maxReceiveCount) instead of the defaults. */
  queueSettings?: Partial<QueueSettings>;
}

/** Queues provisioned, a worker running the integration, and a producer for its queues. */
export async function startTestWorker(options: TestWorkerOptions) {
  const rt = await runtime();
  const { name, queues, tasks } = options;
  const sqs = rt.createSqsClient({ region: 'us-east-1', endpoint: options.endpoint });
  const naming = { env: 'local', user: options.user ?? name };
  await rt.provisionQueues(
    sqs,
    queues.map(({ queue }) => rt.fullQueueName(queue, naming)),
    options.queueSettings,
  );
  const metrics = rt.createMetrics(name, { defaultMetrics: false });
  const log = rt.createLogger(name, options.logLevel ?? 'silent');
  const hooks = await options.integration({ name, prefix: name, log, metrics });
  const worker = await rt.startWorker({
    sqs: { region: 'us-east-1', endpoint: options.endpoint },
    queues,
    tasks,
    naming,
    concurrency: 5,
    metrics,
    log,
    hooks,
    waitTimeSeconds: 1,
  });
  // With the integration's payload store, as src/producer.ts makes it when large-payloads is on.
  const producer = new rt.Producer(sqs, queues, naming, {
    ...options.producer,
    ...(hooks.payloads ? { payloads: hooks.payloads } : {}),
  });
  return {
    metrics,
    producer,
    hooks,
    sqs,
    async stop() {
      await worker.stop(5);
      await hooks.close?.();
    },
  };
}

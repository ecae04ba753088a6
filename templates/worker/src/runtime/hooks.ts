// What an integration (src/integrations/) can plug into the worker. Every member is optional,
// and the runtime works the same with none of them.
import type { Logger } from './logger.ts';
import type { Metrics, WorkerTaskState } from './metrics.ts';
import type { PayloadStore } from './payload-store.ts';

/** What an integration gets besides the configuration. */
export interface IntegrationContext {
  /** The worker's name (the metric prefix and service name come from it). */
  name: string;
  /** The worker's metric prefix, for metrics of its own. */
  prefix: string;
  log: Logger;
  metrics: Metrics;
}

/** One state change of one task, as counted in the metrics. */
export interface TaskEvent {
  state: WorkerTaskState;
  task: string;
  /** The short queue name. */
  queue: string;
  /** The Celery task id. */
  id?: string;
  /** The SQS message id. */
  messageId?: string;
  retries?: number;
  headers?: Readonly<Record<string, unknown>>;
  error?: Error;
  /** For `failed`: no retry follows; the message goes to the dead-letter queue. */
  final?: boolean;
}

/** Decides how many messages a queue may receive now; the consumer asks before every receive. */
export interface ReceiveLimiter {
  /** Resolves with how many may be received (1 ≤ n ≤ wanted), waiting while none may. */
  acquire(wanted: number, signal: AbortSignal): Promise<number>;
  /** Gives back what was acquired but not received. */
  release?(unused: number): void;
}

export interface WorkerHooks {
  /** After each task state change: error reporting, event shipping. */
  onTaskEvent?(event: TaskEvent): void;
  /** Around each task run: tracing opens a span here, continuing the producer's trace. */
  aroundTask?<T>(event: TaskEvent, run: () => Promise<T>): Promise<T>;
  /** A limiter for a queue (by short name and ratelimit name), or none. */
  limiterFor?(queue: { queue: string; ratelimit?: string }): ReceiveLimiter | undefined;
  /** D: where bodies past the threshold go (integration `large-payloads`). */
  payloads?: PayloadStore;
  /** Flushes and closes on shutdown. */
  close?(): Promise<void>;
}

/** Many integrations' hooks as one. */
export function combineHooks(
  list: readonly WorkerHooks[],
): Required<Omit<WorkerHooks, 'limiterFor' | 'payloads'>> & Pick<WorkerHooks, 'limiterFor' | 'payloads'> {
  const payloads = list.find((hooks) => hooks.payloads)?.payloads;
  return {
    ...(payloads ? { payloads } : {}),
    onTaskEvent(event) {
      for (const hooks of list) hooks.onTaskEvent?.(event);
    },
    aroundTask(event, run) {
      return list.reduceRight<typeof run>((inner, hooks) => {
        const around = hooks.aroundTask?.bind(hooks);
        return around ? () => around(event, inner) : inner;
      }, run)();
    },
    limiterFor(queue) {
      for (const hooks of list) {
        const limiter = hooks.limiterFor?.(queue);
        if (limiter) return limiter;
      }
      return undefined;
    },
    async close() {
      await Promise.allSettled(list.map((hooks) => hooks.close?.()));
    },
  };
}

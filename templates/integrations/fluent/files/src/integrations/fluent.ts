// Task events to fluentd's forward protocol (for Treasure Data and the like), tagged
// `<FLUENT_TAG>.task`, and with FLUENT_LOGS=true the log lines too, as `<FLUENT_TAG>.log`. A fluentd that is down never blocks or crashes the worker: events wait in a
// bounded queue while the logger reconnects, and the oldest are dropped past the bound. Off while
// FLUENT_HOST is unset, and then fluent-logger is not even loaded.
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../runtime/index.ts';
import { addLogSink } from '../runtime/logger.ts';

export const fluentEnv = {
  /** fluentd's host; unset turns the integration off. */
  FLUENT_HOST: z
    .string()
    .regex(/^(?![a-z]+:\/\/)[^\s/]+$/, { error: 'a host name or IP address, without a scheme, e.g. fluentd' })
    .refine((host) => !/^[^:]+:\d+$/.test(host), { error: 'a host without a port: the port goes in FLUENT_PORT' })
    .optional(),
  FLUENT_PORT: z.coerce.number().int().min(1).max(65535).default(24224),
  /** Tag prefix; events go out as `<tag>.task`. The worker's name by default. */
  FLUENT_TAG: z.string().min(1).optional(),
  /** Also ship the worker's log lines, as `<tag>.log`. */
  FLUENT_LOGS: z.enum(['true', 'false']).default('false'),
};

type FluentConfig = z.output<z.ZodObject<typeof fluentEnv>>;

/** What we use of fluent-logger's sender: its bundled types miss the events and some options. */
interface Sender {
  emit(label: string, record: Record<string, unknown>): void;
  on(event: 'error' | 'connect', listener: (error: Error) => void): void;
  end(label: undefined, record: undefined, callback: () => void): void;
}

export async function fluent(config: FluentConfig, { name, log }: IntegrationContext): Promise<WorkerHooks> {
  if (!config.FLUENT_HOST) return {};
  // A CommonJS package: Node gives its exports to ESM as the default export only.
  const { default: fluentLogger } = await import('fluent-logger');
  const options = {
    host: config.FLUENT_HOST,
    port: config.FLUENT_PORT,
    timeout: 3.0,
    reconnectInterval: 5000,
    messageQueueSizeLimit: 10_000,
    // Its own console output would bypass our JSON logs; errors come through 'error' below.
    internalLogger: { info: () => {}, error: () => {} },
  };
  const sender = fluentLogger.createFluentSender(config.FLUENT_TAG ?? name, options as never) as unknown as Sender;
  let down = false;
  sender.on('error', (error) => {
    if (!down) log.warn({ err: error }, 'fluentd unreachable; task events wait in a bounded queue');
    down = true;
  });
  sender.on('connect', () => {
    down = false;
  });
  const removeLogSink =
    config.FLUENT_LOGS === 'true'
      ? addLogSink((line) => {
          try {
            sender.emit('log', JSON.parse(line) as Record<string, unknown>);
          } catch {
            // Not a JSON line: nothing to ship.
          }
        })
      : undefined;
  return {
    onTaskEvent(event) {
      sender.emit('task', {
        worker: name,
        state: event.state,
        task: event.task,
        queue: event.queue,
        task_id: event.id,
        retries: event.retries,
        ...(event.error ? { error_type: event.error.name, error_message: event.error.message } : {}),
      });
    },
    close() {
      removeLogSink?.();
      return new Promise((resolve) => sender.end(undefined, undefined, () => resolve()));
    },
  };
}

// Task failures to Sentry: each failed run is captured once, tagged with the task, queue, task
// id, SQS message id and retries; the failure that sends a task to the dead-letter queue is tagged dead_lettered.
// It adds no trace headers to the worker's outgoing requests. Off while SENTRY_DSN is unset, and
// then @sentry/node is not even loaded.
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../runtime/index.ts';

/** Sentry's DSN shape, https://<key>@<host>/<project id>: Sentry.init ignores any other silently. */
const DSN = /^https?:\/\/[^@/\s]+@[^/\s]+\/(.+\/)?\d+$/;

export const sentryEnv = {
  SENTRY_DSN: z
    .string()
    .regex(DSN, { error: "a Sentry DSN, https://<key>@<host>/<project id> (the project's Client Keys page)" })
    .optional(),
  /** Sentry's environment; APP_ENV by default. */
  SENTRY_ENVIRONMENT: z.string().min(1).optional(),
};

type SentryConfig = z.output<z.ZodObject<typeof sentryEnv>> & { APP_ENV: string };

export async function sentry(config: SentryConfig, { name }: IntegrationContext): Promise<WorkerHooks> {
  if (!config.SENTRY_DSN) return {};
  const Sentry = await import('@sentry/node');
  Sentry.init({
    dsn: config.SENTRY_DSN,
    environment: config.SENTRY_ENVIRONMENT ?? config.APP_ENV,
    serverName: name,
    // Errors only: tracing is the tracing integration's job.
    tracesSampleRate: 0,
    // No sentry-trace or baggage header on any outgoing request (fetch, node:http, the AWS SDK's
    // calls to SQS): an empty list matches no URL, where leaving it unset would match every one.
    tracePropagationTargets: [],
    // Every failed run is an event, even when the task fails the same way again.
    integrations: (defaults) => defaults.filter((integration) => integration.name !== 'Dedupe'),
  });
  return {
    onTaskEvent(event) {
      if (event.state !== 'failed' || !event.error) return;
      Sentry.withScope((scope) => {
        scope.setTags({
          task: event.task,
          queue: event.queue,
          task_id: event.id ?? 'unknown',
          message_id: event.messageId ?? 'unknown',
          retries: String(event.retries ?? 0),
          dead_lettered: String(Boolean(event.final)),
        });
        Sentry.captureException(event.error);
      });
    },
    async close() {
      await Sentry.close(2000);
    },
  };
}

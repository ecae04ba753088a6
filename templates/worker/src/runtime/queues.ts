import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_BODY_BYTES } from './codec.ts';
import type { Logger } from './logger.ts';
import { deadLetterQueueName, fullQueueName, isFifo, type NamingContext } from './naming.ts';
import { isSqsBusy, resolveQueueUrl } from './sqs.ts';
import { backoffMs, sleep } from './timing.ts';

/** One entry of `src/config/queues.ts`: a queue and the one task type it carries. */
export interface QueueBinding {
  /** The short name; the SQS name adds the env (and locally the user) in front. */
  queue: string;
  /** The Celery task name run from this queue. */
  task: string;
  /** The ratelimit this queue is held to, by name. */
  ratelimit?: string;
}

export interface ResolvedQueue extends QueueBinding {
  fullName: string;
  url: string;
  deadLetterName: string;
  deadLetterUrl: string;
  fifo: boolean;
  /** The queue's own visibility timeout: how long a received message stays hidden. */
  visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a message to the dead-letter queue (its RedrivePolicy); none without one. */
  maxReceiveCount?: number;
  /** The largest message (body and attributes) each queue takes: its MaximumMessageSize. */
  maxMessageBytes: number;
  deadLetterMaxMessageBytes: number;
}

/** How long start-up waits out a busy SQS (throttling, 5xx) before it gives up. */
export const STARTUP_DEADLINE_MS = 60_000;

export interface ResolveOptions {
  /** Where each attempt SQS was too busy for is logged. */
  log?: Pick<Logger, 'warn'>;
  deadlineMs?: number;
}

/**
 * Finds each queue and its dead-letter queue; a missing one stops start-up with its name. A busy
 * SQS (throttling, its 5xx answers: it is there, only slow to serve) is tried again with back-off
 * until `deadlineMs`; anything else — a missing queue, refused credentials, no SQS at the endpoint —
 * stops start-up at once, with its one-sentence reason.
 */
export async function resolveQueues(
  sqs: SQSClient,
  bindings: readonly QueueBinding[],
  naming: NamingContext,
  { log, deadlineMs = STARTUP_DEADLINE_MS }: ResolveOptions = {},
): Promise<ResolvedQueue[]> {
  const giveUpAt = Date.now() + deadlineMs;
  const patiently = <T>(what: string, call: () => Promise<T>) => whileBusy(what, call, giveUpAt, log);
  return Promise.all(
    bindings.map(async (binding) => {
      const fullName = fullQueueName(binding.queue, naming);
      const deadLetterName = deadLetterQueueName(fullName);
      const [url, deadLetterUrl] = await Promise.all([
        patiently(`the URL of ${fullName}`, () => resolveQueueUrl(sqs, fullName)),
        patiently(`the URL of ${deadLetterName}`, () => resolveQueueUrl(sqs, deadLetterName)),
      ]);
      const [queue, deadLetter] = await Promise.all([
        patiently(`the attributes of ${fullName}`, () =>
          attributes(sqs, url, ['VisibilityTimeout', 'MaximumMessageSize', 'RedrivePolicy']),
        ),
        patiently(`the attributes of ${deadLetterName}`, () => attributes(sqs, deadLetterUrl, ['MaximumMessageSize'])),
      ]);
      return {
        ...binding,
        fullName,
        url,
        deadLetterName,
        deadLetterUrl,
        fifo: isFifo(fullName),
        visibilityTimeoutSeconds: Number(queue.VisibilityTimeout ?? 30),
        ...maxReceiveCountOf(queue.RedrivePolicy),
        maxMessageBytes: Number(queue.MaximumMessageSize ?? SQS_MAX_BODY_BYTES),
        deadLetterMaxMessageBytes: Number(deadLetter.MaximumMessageSize ?? SQS_MAX_BODY_BYTES),
      };
    }),
  );
}

/** `call`, tried again with back-off while SQS is busy, until `giveUpAt`; then SQS's last error. */
async function whileBusy<T>(
  what: string,
  call: () => Promise<T>,
  giveUpAt: number,
  log: ResolveOptions['log'],
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const waitMs = backoffMs(attempt);
      if (!isSqsBusy(error) || Date.now() + waitMs > giveUpAt) throw error;
      log?.warn(
        { attempt, waitMs: Math.round(waitMs), err: error },
        `SQS is busy (${(error as Error).name}) answering for ${what} at start-up; trying again`,
      );
      await sleep(waitMs);
    }
  }
}

/** A redrive policy's maxReceiveCount, if it has a sound one. */
function maxReceiveCountOf(policy: string | undefined): { maxReceiveCount?: number } {
  try {
    const count = Number((JSON.parse(policy ?? 'null') as { maxReceiveCount?: unknown } | null)?.maxReceiveCount);
    return count >= 1 ? { maxReceiveCount: count } : {};
  } catch {
    return {};
  }
}

async function attributes(sqs: SQSClient, url: string, names: QueueAttributeName[]): Promise<Record<string, string>> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
  return Attributes;
}

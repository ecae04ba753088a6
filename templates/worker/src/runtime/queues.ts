import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_BODY_BYTES } from './codec.ts';
import { deadLetterQueueName, fullQueueName, isFifo, type NamingContext } from './naming.ts';
import { resolveQueueUrl } from './sqs.ts';

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

/** Finds each queue and its dead-letter queue; a missing one stops start-up with its name. */
export async function resolveQueues(
  sqs: SQSClient,
  bindings: readonly QueueBinding[],
  naming: NamingContext,
): Promise<ResolvedQueue[]> {
  return Promise.all(
    bindings.map(async (binding) => {
      const fullName = fullQueueName(binding.queue, naming);
      const deadLetterName = deadLetterQueueName(fullName);
      const [url, deadLetterUrl] = await Promise.all([
        resolveQueueUrl(sqs, fullName),
        resolveQueueUrl(sqs, deadLetterName),
      ]);
      const [queue, deadLetter] = await Promise.all([
        attributes(sqs, url, ['VisibilityTimeout', 'MaximumMessageSize', 'RedrivePolicy']),
        attributes(sqs, deadLetterUrl, ['MaximumMessageSize']),
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

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout'] }),
      );
      return {
        ...binding,
        fullName,
        url,
        deadLetterName,
        deadLetterUrl,
        fifo: isFifo(fullName),
        visibilityTimeoutSeconds: Number(Attributes?.VisibilityTimeout ?? 30),
      };
    }),
  );
}

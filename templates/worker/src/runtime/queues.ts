import type { SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, fullQueueName, type NamingContext } from './naming.ts';
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
  deadLetterName: string;
  url: string;
}

export async function resolveQueues(
  sqs: SQSClient,
  bindings: readonly QueueBinding[],
  naming: NamingContext,
): Promise<ResolvedQueue[]> {
  return Promise.all(
    bindings.map(async (binding) => {
      const fullName = fullQueueName(binding.queue, naming);
      return {
        ...binding,
        fullName,
        deadLetterName: deadLetterQueueName(fullName),
        url: await resolveQueueUrl(sqs, fullName),
      };
    }),
  );
}

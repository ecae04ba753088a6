// Queues on a local SQS emulator, for `npm run dev` and tests: each DLQ first, then its queue
// with a redrive policy pointing at it, the same shape `be-worker provision` gives real SQS.
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, isFifo } from './naming.ts';

export interface LocalQueueOptions {
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

const FOURTEEN_DAYS = String(14 * 24 * 3600);

export async function createQueuesWithDeadLetters(
  sqs: SQSClient,
  fullNames: readonly string[],
  { maxReceiveCount = 5, visibilityTimeoutSeconds = 30 }: LocalQueueOptions = {},
): Promise<void> {
  for (const name of fullNames) {
    const fifo = isFifo(name) ? { FifoQueue: 'true' } : {};
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: deadLetterQueueName(name),
        Attributes: { ...fifo, MessageRetentionPeriod: FOURTEEN_DAYS },
      }),
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          ...fifo,
          VisibilityTimeout: String(visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
        },
      }),
    );
  }
}

// Emptying a dead-letter queue for good.
import { PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Deletes every message of the queue (SQS takes up to a minute to finish, and allows one purge a minute). */
export async function purgeQueue(sqs: SQSClient, url: string): Promise<void> {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
}

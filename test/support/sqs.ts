// A local SQS (fauxqs) in its own process, as the reliability tests need: it can be stopped and
// started again on the same port, with its messages kept on disk.
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { execa, type ResultPromise } from 'execa';
import { provisionQueues, type QueueSettings } from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { freePort, REPO, tempDir, waitFor } from './process.ts';

export interface SqsProcess {
  endpoint: string;
  client: SQSClient;
  /** The server's process id while it runs (the bench reads its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Starts fauxqs on a free port; with `persistent`, messages survive `stop()` + `start()`. With
 * `awsLike`, local-aws-sqs instead: AWS's FIFO batches (up to 10 messages of one group) and
 * message moves, which fauxqs does not have.
 */
export async function startSqsProcess({ persistent = false, awsLike = false } = {}): Promise<SqsProcess> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = awsLike ? 'aws-like-sqs-server.ts' : 'sqs-server.ts';
  const args = [join(REPO, 'test', 'support', server), String(port)];
  if (persistent) args.push(await tempDir('cbw-sqs-'));
  let child: ResultPromise | undefined;
  const client = createSqsClient({ region: 'us-east-1', endpoint });
  const sqs: SqsProcess = {
    endpoint,
    client,
    get pid() {
      return child?.pid;
    },
    async start() {
      child = execa('node', args, { reject: false });
      await waitFor('the local SQS to answer', async () =>
        (await client.send(new ListQueuesCommand({}))) ? true : undefined,
      );
    },
    async stop() {
      child?.kill('SIGTERM');
      await child;
    },
  };
  await sqs.start();
  return sqs;
}

/** Creates queues with their `err-` DLQs and returns their URLs by name. */
export async function createQueues(
  sqs: SqsProcess,
  names: string[],
  settings: Partial<QueueSettings> = {},
): Promise<void> {
  await provisionQueues(sqs.client, names, settings);
}

export async function send(sqs: SqsProcess, queue: string, body: string): Promise<void> {
  await sqs.client.send(
    new SendMessageCommand({ QueueUrl: await resolveQueueUrl(sqs.client, queue), MessageBody: body }),
  );
}

/** Visible + in flight + delayed messages of a queue. */
export async function depth(sqs: SqsProcess, queue: string): Promise<number> {
  const { Attributes = {} } = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: await resolveQueueUrl(sqs.client, queue),
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed)
  );
}

/** Receives (and leaves in place) up to `count` messages with all their attributes. */
export async function receiveAll(sqs: SqsProcess, queue: string, count: number): Promise<Message[]> {
  const url = await resolveQueueUrl(sqs.client, queue);
  const messages: Message[] = [];
  await waitFor(`${count} message(s) on ${queue}`, async () => {
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        AttributeNames: ['All'], // the older name, which local-aws-sqs reads
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...Messages);
    return messages.length >= count ? true : undefined;
  });
  return messages;
}

export async function remove(sqs: SqsProcess, queue: string, messages: Message[]): Promise<void> {
  if (messages.length === 0) return;
  await sqs.client.send(
    new DeleteMessageBatchCommand({
      QueueUrl: await resolveQueueUrl(sqs.client, queue),
      Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
    }),
  );
}

// The fault tests' proxy does what they rely on: each mode fails the way its name says.
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultyNetwork, startFaultyNetwork } from './faulty-network.ts';

let sqs: FauxqsServer;
let network: FaultyNetwork;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startFauxqs({ port: 0, logger: false });
  network = await startFaultyNetwork(sqs.address);
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: network.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await network?.close();
  await sqs?.stop();
});

const list = (ms = 1000) => client.send(new ListQueuesCommand({}), { abortSignal: AbortSignal.timeout(ms) });
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error) => error,
  );

describe('the faulty network', () => {
  it('forwards, and fails only the chosen operations, on the same keep-alive connection', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'proxied' }));
    network.fail(['DeleteMessage']);
    const error = await failure(client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'x' })));
    expect(error?.name).toBe('InternalError');
    expect((await list()).QueueUrls).toContain(QueueUrl);
    network.fail([]);
    expect(network.counts().failed).toEqual({ DeleteMessage: 1 });
    expect(network.counts().seen.ListQueues).toBeGreaterThanOrEqual(1);
  });

  it('refuses connections, then takes them again on the same port', async () => {
    await network.set('refuse');
    expect((await failure(list()))?.message).toMatch(/ECONNREFUSED/);
    await network.set('pass');
    expect((await list()).QueueUrls).toBeDefined();
  });

  it('resets connections', async () => {
    await network.set('reset');
    expect((await failure(list()))?.message).toMatch(/ECONNRESET|socket hang up/);
    await network.set('pass');
  });

  it('black-holes open and new connections: no answer, no error', async () => {
    await list();
    await network.set('blackhole');
    expect((await failure(list(1500)))?.name).toBe('AbortError');
    await network.set('pass');
    expect((await list(3000)).QueueUrls).toBeDefined();
  });

  it('slows every answer by a fixed time or one drawn from a range, and still answers', async () => {
    network.latency(1500);
    expect((await failure(list(500)))?.name).toBe('AbortError');
    expect((await list(10_000)).QueueUrls).toBeDefined();
    network.latency([300, 700]);
    expect((await failure(list(150)))?.name).toBe('AbortError');
    expect((await list(10_000)).QueueUrls).toBeDefined();
    network.latency(0);
    expect((await list()).QueueUrls).toBeDefined();
  });

  const queue = async (name: string) => {
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: name }));
    await client.send(new PurgeQueueCommand({ QueueUrl }));
    return QueueUrl;
  };
  /** Messages in the queue, visible or not. */
  const waiting = async (QueueUrl: string) => {
    const { Attributes = {} } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  };

  it('throttles before SQS sees the call, as SQS answers it: HTTP 400, a throttling error the SDK knows', async () => {
    const QueueUrl = await queue('throttled');
    network.inject([{ operations: ['SendMessage'], error: 'throttled', probability: 1, when: 'before' }]);
    const error = (await failure(client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })))) as Error & {
      $metadata?: { httpStatusCode?: number };
    };
    network.inject([]);
    expect(error?.name).toMatch(/^(ThrottlingException|RequestThrottled)$/);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(await waiting(QueueUrl)).toBe(0);
  });

  it('fails a call after SQS did it: the caller sees HTTP 500, and SQS has the message', async () => {
    const QueueUrl = await queue('committed');
    const before = network.counts();
    network.inject([{ operations: ['SendMessage'], error: 'internal-error', probability: 1, when: 'after' }]);
    const error = (await failure(client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })))) as Error & {
      $metadata?: { httpStatusCode?: number };
    };
    network.inject([]);
    expect(error?.name).toBe('InternalError');
    expect(error.$metadata?.httpStatusCode).toBe(500);
    expect(await waiting(QueueUrl)).toBe(1);
    const after = network.counts();
    expect((after.afterCommit.SendMessage ?? 0) - (before.afterCommit.SendMessage ?? 0)).toBe(1);
  });

  it('fails calls by the chance it is given, and only the operations named', async () => {
    const before = network.counts();
    network.inject([{ operations: ['ListQueues'], error: 'throttled', probability: 0.3, when: 'before' }]);
    const results = await Promise.all(Array.from({ length: 200 }, () => failure(list(5000))));
    const queues = await failure(client.send(new CreateQueueCommand({ QueueName: 'untouched' })));
    network.inject([]);
    const failures = results.filter(Boolean).length;
    // 200 draws at 30 %: 60 expected, and 30 or 90 are beyond 4 standard deviations.
    expect(failures).toBeGreaterThan(30);
    expect(failures).toBeLessThan(90);
    expect((network.counts().failed.ListQueues ?? 0) - (before.failed.ListQueues ?? 0)).toBe(failures);
    expect(queues).toBeUndefined();
  });

  it('fails some entries of a batch: SQS does not do them, and the answer lists them as failed, not the sender’s fault', async () => {
    const QueueUrl = await queue('entries');
    const batch = (from: number) =>
      Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageBody: `m${from + index}` }));
    network.failEntries(['SendMessageBatch'], 0.5);
    const sent = [
      await client.send(new SendMessageBatchCommand({ QueueUrl, Entries: batch(0) })),
      await client.send(new SendMessageBatchCommand({ QueueUrl, Entries: batch(10) })),
    ];
    network.failEntries([], 0);
    const failedSends = sent.flatMap(({ Failed = [] }) => Failed);
    const succeeded = sent.flatMap(({ Successful = [] }) => Successful);
    // 20 entries at 50 %: none failed once in a million runs.
    expect(failedSends.length).toBeGreaterThan(0);
    expect(failedSends.every(({ SenderFault, Code }) => SenderFault === false && Code === 'InternalError')).toBe(true);
    expect(succeeded.length + failedSends.length).toBe(20);
    expect(await waiting(QueueUrl)).toBe(succeeded.length);

    const other = await queue('entries-deleted');
    await client.send(new SendMessageBatchCommand({ QueueUrl: other, Entries: batch(0).slice(0, 3) }));
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: other, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.length).toBe(3);
    network.failEntries(['DeleteMessageBatch'], 1);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: other,
        Entries: Messages.map(({ ReceiptHandle }, index) => ({ Id: String(index), ReceiptHandle })),
      }),
    );
    network.failEntries([], 0);
    expect(deleted.Successful ?? []).toEqual([]);
    expect(deleted.Failed?.map(({ Id }) => Id).sort()).toEqual(['0', '1', '2']);
    expect(await waiting(other)).toBe(3);
    expect(network.counts().entriesFailed.DeleteMessageBatch).toBe(3);
  });
});

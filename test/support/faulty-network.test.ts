// The fault tests' proxy does what they rely on: each mode fails the way its name says.
import { CreateQueueCommand, DeleteMessageCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
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
});

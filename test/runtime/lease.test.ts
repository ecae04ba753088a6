// The lease keeper against a local SQS (fauxqs in its own process): its thread keeps leases while
// this one is blocked, gives messages back, and tells when SQS refuses a lease.
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseKeeper, LeaseLostError } from '../../templates/worker/src/runtime/lease.ts';
import { provisionQueues } from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

let sqs: SqsProcess;
let keeper: LeaseKeeper;
let url: string;
const queue = () => ({ url, visibilityTimeoutSeconds: 2 });

beforeAll(async () => {
  sqs = await startSqsProcess();
  await provisionQueues(sqs.client, ['leases'], { visibilityTimeoutSeconds: 2 });
  url = await resolveQueueUrl(sqs.client, 'leases');
  keeper = new LeaseKeeper({ region: 'us-east-1', endpoint: sqs.endpoint });
});
afterAll(async () => {
  await keeper?.close();
  await sqs?.stop();
});

async function receiveOne(waitSeconds = 1) {
  const client = createSqsClient({ region: 'us-east-1', endpoint: sqs.endpoint });
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: waitSeconds }),
  );
  client.destroy();
  return Messages[0];
}

const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
};

describe('LeaseKeeper', () => {
  it('keeps a message hidden past its visibility timeout while this thread is blocked', async () => {
    await send(sqs, 'leases', 'held');
    const message = await receiveOne();
    const lease = keeper.hold(queue(), message?.ReceiptHandle ?? '');
    block(5000); // two and a half visibility timeouts, without one turn of this event loop
    expect(await receiveOne(1)).toBeUndefined();
    lease.drop();
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle }));
  });

  it('gives a message back visible at once, or hidden for the seconds asked', async () => {
    await send(sqs, 'leases', 'given back');
    const first = await receiveOne();
    expect(await keeper.hold(queue(), first?.ReceiptHandle ?? '').release(0)).toBe(true);
    const again = await receiveOne(1);
    expect(again?.Body).toBe('given back');
    const lease = keeper.hold(queue(), again?.ReceiptHandle ?? '');
    expect(lease.signal.aborted).toBe(false);
    expect(await lease.release(4)).toBe(true);
    expect(lease.signal.aborted).toBe(true);
    // Hidden for 4 s, longer than the queue's own 2 s: nothing now, the message after.
    expect(await receiveOne(2)).toBeUndefined();
    const last = await receiveOne(5);
    expect(last?.Body).toBe('given back');
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: last?.ReceiptHandle }));
  });

  it('loses a lease SQS refuses to extend: its signal aborts with LeaseLostError', async () => {
    const lost = new Promise((resolve) => keeper.once('lost', resolve));
    const lease = keeper.hold(queue(), 'a receipt handle SQS never gave');
    await lost;
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(await lease.release(0)).toBe(false);
  });
});

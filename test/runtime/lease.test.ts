// The lease keeper against a local SQS (fauxqs in its own process): its thread keeps leases while
// this one is blocked, gives messages back, and tells when SQS refuses a lease.

import { Worker } from 'node:worker_threads';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LeaseKeeper, LeaseLostError } from '../../templates/worker/src/runtime/lease.ts';
import type { ToKeeper } from '../../templates/worker/src/runtime/lease-thread.ts';
import { provisionQueues } from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
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

describe('LeaseKeeper, whatever the visibility timeout', () => {
  /** The keeper talks to SQS through this proxy, which counts its extension calls. */
  let network: FaultyNetwork;
  let counted: LeaseKeeper;
  beforeAll(async () => {
    network = await startFaultyNetwork(sqs.endpoint);
    counted = new LeaseKeeper({ region: 'us-east-1', endpoint: network.endpoint });
    // Its thread started before the shortest lease is held, so that lease is not lost to start-up.
    counted.hold(queue(), 'warm-up').drop();
  });
  afterAll(async () => {
    await counted?.close();
    await network?.close();
  });

  // Odd, round, the shortest and the longest SQS allows: a third of each is rarely whole milliseconds.
  it.each([1, 4, 7, 10, 13, 20, 3601, 43_200])(
    'extends a message leased for %i s, and SQS takes the extension',
    async (seconds) => {
      const errors: string[] = [];
      const onError = (_url: string, reason: string) => errors.push(reason);
      counted.on('extend_error', onError);
      await send(sqs, 'leases', `leased for ${seconds} s`);
      const client = createSqsClient({ region: 'us-east-1', endpoint: sqs.endpoint });
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 1,
          VisibilityTimeout: seconds,
        }),
      );
      client.destroy();
      const handle = Messages[0]?.ReceiptHandle ?? '';
      const extended = () => network.counts().seen.ChangeMessageVisibilityBatch ?? 0;
      const before = extended();
      // Received a third of its timeout ago: its first extension is due now.
      const received = Date.now() - (seconds * 1000) / 3;
      const lease = counted.hold({ url, visibilityTimeoutSeconds: seconds }, handle, received);
      await waitFor('an extension to be taken, or fail', async () =>
        (extended() > before && lease.expiresAt > received + seconds * 1000) ||
        errors.length > 0 ||
        lease.signal.aborted
          ? true
          : undefined,
      );
      // Past the timeout it was received with, it is still hidden (for the short ones).
      if (seconds <= 10) {
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 500));
        expect(await receiveOne(0)).toBeUndefined();
      }
      counted.off('extend_error', onError);
      expect(errors).toEqual([]);
      expect(lease.check()).toBe(true);
      // This thread learned the new expiry: the extension was taken.
      expect(lease.expiresAt).toBeGreaterThan(received + seconds * 1000);
      lease.drop();
      await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle }));
    },
    60_000,
  );
});

describe('LeaseKeeper, a receive’s batch at once', () => {
  it('tells its thread of a batch of leases in one message, and of the leases dropped since with the next batch', async () => {
    for (const count of [1, 7, 10]) {
      const posted = vi.spyOn(Worker.prototype, 'postMessage');
      const handles = Array.from({ length: count }, (_, index) => `not a real handle ${count}-${index}`);
      const leases = keeper.holdAll(queue(), handles);
      expect(leases).toHaveLength(count);
      expect(posted).toHaveBeenCalledTimes(1);
      // Dropped as tasks end: one by one, each in its own microtask (as timers' tasks end).
      for (const lease of leases) {
        lease.drop();
        await Promise.resolve();
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(posted).toHaveBeenCalledTimes(1);
      // The next receive's holds carry them.
      const next = keeper.holdAll(queue(), [`the next batch ${count}`]);
      expect(posted).toHaveBeenCalledTimes(2);
      const [sent] = posted.mock.calls[1] as [ToKeeper[]];
      const drop = sent.find((message) => message.op === 'drop');
      expect(drop?.ids).toHaveLength(count);
      expect(new Set(drop?.ids).size).toBe(count);
      expect(leases.every((lease) => !lease.signal.aborted)).toBe(true);
      // With no receive to carry it, a drop goes within a tick of the keeper's (TICK_MS).
      next[0]?.drop();
      await waitFor('the drop to be told', async () => (posted.mock.calls.length === 3 ? true : undefined), 2000);
      expect(posted.mock.calls[2]).toEqual([[{ op: 'drop', ids: [expect.any(Number)] }]]);
      posted.mockRestore();
    }
  });

  it('keeps every lease of a batch while this thread is blocked right after', async () => {
    const bodies = ['one', 'two', 'three'];
    for (const body of bodies) await send(sqs, 'leases', body);
    const messages = [];
    while (messages.length < bodies.length) {
      const message = await receiveOne();
      if (message) messages.push(message);
    }
    const leases = keeper.holdAll(
      queue(),
      messages.map((message) => message.ReceiptHandle ?? ''),
    );
    block(5000);
    expect(await receiveOne(1)).toBeUndefined();
    for (const lease of leases) lease.drop();
    for (const message of messages)
      await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
  });
});

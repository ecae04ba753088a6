// `npm run dev`'s firings sent to a real local SQS (sendToQueues): local-aws-sqs, which batches a FIFO
// group as AWS does, behind a proxy that throttles sends or loses their answers after SQS did them.
// Every firing that resolved is on its queue, none that failed is; on a FIFO queue each is one
// message however often the SDK sent it (its execution id is the deduplication id), in its task's
// group, in firing order.
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { type LocalFiring, sendToQueues } from '../../templates/worker/src/runtime/local-schedules.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { fireInput, scheduleInput } from '../../templates/worker/src/runtime/schedule-message.ts';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { createQueues, depth, receiveAll, remove, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const naming = { env: 'local', user: 'ann' };
let sqs: SqsProcess;
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess({ awsLike: true });
  network = await startFaultyNetwork(sqs.endpoint);
}, 60_000);
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});
afterEach(() => network.inject([]));

const schedule = (queue: string): ResolvedSchedule => ({
  name: 'ledger-close',
  task: 'ledger.close',
  queue,
  args: ['eu'],
  kwargs: {},
  expression: 'rate(1 minute)',
  timezone: 'UTC',
});

/** `count` firings a minute apart, as local firing makes them. */
function firings(queue: string, count: number): LocalFiring[] {
  const input = scheduleInput(schedule(queue));
  return Array.from({ length: count }, (_, index) => {
    const executionId = randomUUID();
    const scheduledTime = new Date(Date.UTC(2026, 2, 2, 10, index));
    return {
      schedule: schedule(queue),
      executionId,
      scheduledTime,
      body: fireInput(input, { executionId, scheduledTime }),
    };
  });
}

/** Sends them one after the other, as the timers do; the ids of those whose send resolved. */
async function sendEach(all: LocalFiring[]): Promise<{ sent: string[]; failed: number }> {
  const send = sendToQueues(createSqsClient({ region: 'us-east-1', endpoint: network.endpoint }), naming);
  const sent: string[] = [];
  let failed = 0;
  for (const firing of all) {
    await send(firing).then(
      () => sent.push(firing.executionId),
      () => failed++,
    );
  }
  return { sent, failed };
}

/** Receives and deletes until `count` arrived: a FIFO group gives its next messages once these are gone. */
async function drain(queue: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  while (messages.length < count) {
    const batch = await receiveAll(sqs, queue, 1);
    await remove(sqs, queue, batch);
    messages.push(...batch);
  }
  return messages;
}

const ids = (messages: Message[]) => messages.map((message) => decodeMessage(message.Body ?? '').id);

describe('local firings sent to local-aws-sqs', () => {
  it('a FIFO queue: one message per firing in its task’s group, in order, though half the answers were lost after SQS did the send', async () => {
    const queue = 'ledger.fifo';
    await createQueues(sqs, [fullQueueName(queue, naming)]);
    network.inject([{ operations: ['SendMessage'], error: 'internal-error', probability: 0.5, when: 'after' }]);
    const all = firings(queue, 12);
    const { sent } = await sendEach(all);
    // Lost answers were sent again by the SDK: deduplicated by SQS, never a second message.
    expect(network.counts().afterCommit.SendMessage ?? 0).toBeGreaterThan(0);
    network.inject([]);
    const full = fullQueueName(queue, naming);
    expect(await depth(sqs, full)).toBe(all.length);
    // A send whose every answer was lost rejects, though SQS has it: each firing is there once.
    const messages = await drain(full, all.length);
    expect(ids(messages)).toEqual(all.map(({ executionId }) => executionId));
    expect(sent.every((id) => ids(messages).includes(id))).toBe(true);
    for (const [index, message] of messages.entries()) {
      expect(message.Attributes?.MessageGroupId).toBe('ledger.close');
      expect(message.Attributes?.MessageDeduplicationId).toBe(all[index]?.executionId);
      expect(decodeMessage(message.Body ?? '').headers).toMatchObject({
        schedule: 'ledger-close',
        scheduled_time: `2026-03-02T10:${String(index).padStart(2, '0')}:00Z`,
      });
    }
  }, 60_000);

  it('a standard queue, sends throttled before SQS saw them: every firing whose send resolved is there once, none that failed', async () => {
    const queue = 'ledger';
    await createQueues(sqs, [fullQueueName(queue, naming)]);
    network.inject([{ operations: ['SendMessage'], error: 'throttled', probability: 0.6, when: 'before' }]);
    const { sent, failed } = await sendEach(firings(queue, 20));
    expect(network.counts().failed.SendMessage ?? 0).toBeGreaterThan(0);
    network.inject([]);
    expect(sent.length + failed).toBe(20);
    const full = fullQueueName(queue, naming);
    expect(await depth(sqs, full)).toBe(sent.length);
    const messages = await drain(full, sent.length);
    expect(ids(messages).sort()).toEqual([...sent].sort());
  }, 60_000);
});

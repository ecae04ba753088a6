// Waiting for an eta, hop by hop, over simulated years: how many receives and copies a far eta
// costs, that a hide never lets the redrive policy move a message before it is due, and the
// horizon past which an eta is refused.
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { etaHop, inspect, LONGEST_HIDE_SECONDS } from '../../templates/worker/src/runtime/decide.ts';
import { EtaTooFarError } from '../../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { sample, waitFor } from '../support/process.ts';
import { createQueues, receiveAll, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

const add = defineTask({ name: 'add', args: z.tuple([z.number(), z.number()]), run: ([a, b]) => a + b });
const tasks = new Map([['add', add]]);
const NOW = Date.parse('2026-12-03T12:00:00Z');
const DAY_MS = 86_400_000;
const body = (eta: Date) => encodeMessage({ task: 'add', args: [1, 2], queue: 'q', eta });

/**
 * One message waiting `days` for its eta on a queue: each receive asks etaHop, a hide adds a
 * receive to the message's count, a copy starts a new message at count 0. Ends when it is due.
 */
function simulate(days: number, maxReceiveCount: number | undefined, fifo = false) {
  let now = NOW;
  const eta = NOW + days * DAY_MS;
  let receiveCount = 0;
  let receives = 0;
  let copies = 0;
  let highestCount = 0;
  for (;;) {
    receiveCount++;
    receives++;
    highestCount = Math.max(highestCount, receiveCount);
    if (maxReceiveCount !== undefined && receiveCount > maxReceiveCount) return { outcome: 'redriven' as const };
    const verdict = inspect(body(new Date(eta)), tasks, 1024 * 1024, now, [], 36_500);
    if (verdict.action === 'run') return { outcome: 'ran' as const, receives, copies, highestCount, lateMs: now - eta };
    if (verdict.action !== 'wait') throw new Error(`unexpected ${verdict.action}`);
    const hop = etaHop(verdict.seconds, { receiveCount, maxReceiveCount, fifo });
    if (hop.action === 'refuse') return { outcome: 'refused' as const, error: hop.error };
    if (hop.action === 'hide') now += hop.seconds * 1000;
    else {
      copies++;
      receiveCount = 0;
      now += hop.delaySeconds * 1000;
    }
  }
}

describe('a far eta on a standard queue', () => {
  it('costs one copy per (maxReceiveCount − 1) × 12 hours, not one per 15 minutes', () => {
    const fiveYears = simulate(5 * 365, 5);
    expect(fiveYears.outcome).toBe('ran');
    // Hidden three times (36 h), then copied: about 1,217 copies in five years, where a copy every
    // 15 minutes made 175,000.
    expect(fiveYears.copies).toBeLessThanOrEqual(Math.ceil((5 * 365 * 24) / 36));
    expect(fiveYears.receives).toBeLessThanOrEqual(4 * Math.ceil((5 * 365 * 24) / 36) + 4);
  });

  it.each([1, 2, 3, 5, 10, 1000, undefined])(
    'runs once due, never redriven first, and with a receive to spare, when maxReceiveCount is %s',
    (max) => {
      for (const days of [0.01, 0.4, 0.6, 1, 3.3, 30, 400]) {
        const result = simulate(days, max);
        expect(result.outcome).toBe('ran');
        if (result.outcome !== 'ran') continue;
        expect(result.lateMs).toBeGreaterThanOrEqual(-1000);
        // Its last delivery leaves a receive to spare (a crash, a lost lease) before the DLQ.
        if (max !== undefined && max > 1) expect(result.highestCount).toBeLessThan(max);
        // A hide never waits past its eta by more than the slack.
        expect(result.lateMs).toBeLessThanOrEqual(1000);
      }
    },
  );

  it('is hidden for 12 hours at most, which SQS allows from the receive', () => {
    const hop = etaHop(10 * 86_400, { receiveCount: 1, maxReceiveCount: 5, fifo: false });
    expect(hop).toEqual({ action: 'hide', seconds: LONGEST_HIDE_SECONDS });
    expect(LONGEST_HIDE_SECONDS).toBeLessThan(43_200);
  });

  it('is copied, delayed 15 minutes at most, only when one more hide would use the last receive', () => {
    expect(etaHop(10 * 86_400, { receiveCount: 3, maxReceiveCount: 5, fifo: false }).action).toBe('hide');
    expect(etaHop(10 * 86_400, { receiveCount: 4, maxReceiveCount: 5, fifo: false })).toEqual({
      action: 'copy',
      delaySeconds: 900,
    });
    expect(etaHop(30, { receiveCount: 4, maxReceiveCount: 5, fifo: false })).toEqual({
      action: 'copy',
      delaySeconds: 30,
    });
  });
});

describe('a far eta on a FIFO queue (never copied)', () => {
  it('waits, 12 hours at a time, when its receives left reach its eta', () => {
    expect(simulate(1.9, 5, true).outcome).toBe('ran');
  });

  it('is refused with the reason when the redrive policy would move it first', () => {
    const result = simulate(3, 5, true);
    expect(result.outcome).toBe('refused');
    if (result.outcome === 'refused') {
      expect(result.error).toBeInstanceOf(EtaTooFarError);
      expect(result.error.message).toMatch(/FIFO queue can only hide it again .* 4 more times .*maxReceiveCount 5/);
    }
  });
});

describe('the eta horizon', () => {
  it.each([
    [365, 365.5, 'dead-letter'],
    [365, 364, 'wait'],
    [1, 2, 'dead-letter'],
    [36_500, 5 * 365, 'wait'],
  ])('with ETA_HORIZON_DAYS=%i, an eta %d days away: %s', (horizon, days, action) => {
    const verdict = inspect(body(new Date(NOW + days * DAY_MS)), tasks, 1024 * 1024, NOW, [], horizon);
    expect(verdict.action).toBe(action);
    if (verdict.action === 'dead-letter') {
      expect(verdict.reason.error).toBeInstanceOf(EtaTooFarError);
      expect(verdict.reason.error.message).toContain(`horizon of ${horizon} days (ETA_HORIZON_DAYS)`);
      expect(verdict.reason.taskId).toBeDefined();
    }
  });

  it('is a year by default: an eta five years out is refused', () => {
    expect(inspect(body(new Date(NOW + 5 * 365 * DAY_MS)), tasks, 1024 * 1024, NOW).action).toBe('dead-letter');
  });
});

describe('a worker given far etas (local SQS)', () => {
  let sqs: SqsProcess;
  let worker: Worker | undefined;
  const metrics = createMetrics('far_etas', { defaultMetrics: false });
  const queue = 'etas-local-adds';
  const counts = async (name: string) => {
    const { Attributes = {} } = await sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, name),
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return {
      hidden: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
    };
  };
  const consumed = async (state: string) =>
    sample(
      await metrics.registry.metrics(),
      `far_etas_consumer_tasks_count_total{name="add",queue="adds",state="${state}"}`,
    ) ?? 0;

  beforeAll(async () => {
    sqs = await startSqsProcess();
    await createQueues(sqs, [queue], { visibilityTimeoutSeconds: 13, maxReceiveCount: 7 });
    worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues: [{ queue: 'adds', task: 'add' }],
      tasks: [add],
      naming: { env: 'local', user: 'etas' },
      concurrency: 2,
      metrics,
      log: createLogger('far-etas', 'silent'),
      waitTimeSeconds: 1,
      etaHorizonDays: 200,
    });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop(1);
    await sqs?.stop();
  });

  it("knows its queue's maxReceiveCount from the redrive policy", () => {
    expect(worker?.queues[0]?.maxReceiveCount).toBe(7);
  });

  it('hides an eta 100 days away for 12 hours, the message itself: no copy is sent', async () => {
    const sent = await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, queue),
        MessageBody: body(new Date(Date.now() + 100 * DAY_MS)),
      }),
    );
    await waitFor('the worker to give it back hidden', async () =>
      (await consumed('received')) >= 1 && (await counts(queue)).hidden === 1 ? true : undefined,
    );
    expect(await counts(queue)).toEqual({ hidden: 1, delayed: 0 });
    expect(await consumed('deleted')).toBe(0);
    expect(sent.MessageId).toBeDefined();
  });

  it('dead-letters an eta beyond its horizon, saying why', async () => {
    await send(sqs, queue, body(new Date(Date.now() + 201 * DAY_MS)));
    const [dead] = await receiveAll(sqs, `err-${queue}`, 1);
    expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('EtaTooFarError');
    expect(dead?.MessageAttributes?.error_message?.StringValue).toMatch(/horizon of 200 days \(ETA_HORIZON_DAYS\)/);
    // The counter moves once the dead letter is sent, so it may lag the message by a moment.
    const deadLettered = async () =>
      sample(
        await metrics.registry.metrics(),
        'far_etas_dead_letters_total{name="add",queue="adds",reason="eta_too_far"}',
      );
    expect(await waitFor('the dead letter to be counted', deadLettered)).toBe(1);
  });
});

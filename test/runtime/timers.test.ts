// Durations longer than Node's timers take (2^31-1 ms, about 24.8 days): a Celery time_limit of
// 3,000,000 s, a far eta, a long retry delay. A timer given one fires after 1 ms instead.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import {
  after as later,
  MAX_TIMER_MS,
  sleep,
  timerMs,
  wholeSeconds,
} from '../../templates/worker/src/runtime/timing.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { sample, waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

describe('timer helpers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('timerMs: whole milliseconds a timer and AbortSignal.timeout take', () => {
    expect([1000 / 3, 0, -5, Number.NaN, 2 ** 40, Number.POSITIVE_INFINITY, 7].map(timerMs)).toEqual([
      334,
      0,
      0,
      0,
      MAX_TIMER_MS,
      MAX_TIMER_MS,
      7,
    ]);
    for (const ms of [1000 / 3, 2 ** 40, 10_000 / 3]) expect(() => AbortSignal.timeout(timerMs(ms))).not.toThrow();
  });

  it('wholeSeconds: what SQS takes as a VisibilityTimeout or DelaySeconds', () => {
    expect([0.2, 43_199.5, 10 ** 9, -1, Number.NaN].map((s) => wholeSeconds(s, 43_200))).toEqual([
      1, 43_200, 43_200, 0, 0,
    ]);
  });

  it.each([MAX_TIMER_MS + 1, 3_000_000_000, 5 * MAX_TIMER_MS + 17])(
    'later: after(%i ms) fires then, not after 1 ms',
    async (ms) => {
      vi.useFakeTimers();
      let fired = false;
      later(ms, () => {
        fired = true;
      });
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(fired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(fired).toBe(true);
    },
  );

  it('sleep over 24.8 days sleeps, and still ends when its signal aborts', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    let woke = false;
    void sleep(40 * 24 * 3600 * 1000, controller.signal).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(30 * 24 * 3600 * 1000);
    expect(woke).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(woke).toBe(true);
  });

  it('later: after(Infinity) never fires', async () => {
    vi.useFakeTimers();
    let fired = false;
    later(Number.POSITIVE_INFINITY, () => {
      fired = true;
    });
    await vi.advanceTimersByTimeAsync(3 * MAX_TIMER_MS);
    expect(fired).toBe(false);
  });
});

describe('a task with a time limit longer than a timer takes', () => {
  let sqs: SqsProcess;
  let worker: Worker | undefined;
  const metrics = createMetrics('long_limits', { defaultMetrics: false });
  const stuck: string[] = [];
  // Forty days: its own limit, over 2^31-1 ms too.
  const brief = defineTask({
    name: 'brief',
    args: z.tuple([]),
    timeLimitSeconds: 40 * 24 * 3600,
    run: () => new Promise((resolve) => setTimeout(() => resolve('done'), 200)),
  });

  beforeAll(async () => {
    sqs = await startSqsProcess();
    await createQueues(sqs, ['limits-local-briefs'], { visibilityTimeoutSeconds: 7 });
    worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues: [{ queue: 'briefs', task: 'brief' }],
      tasks: [brief],
      naming: { env: 'local', user: 'limits' },
      concurrency: 4,
      metrics,
      log: createLogger('long-limits', 'silent'),
      waitTimeSeconds: 1,
      onStuck: (reason) => stuck.push(reason),
    });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop(1);
    await sqs?.stop();
  });

  const count = async (state: string) =>
    sample(
      await metrics.registry.metrics(),
      `long_limits_worker_tasks_count_total{name="brief",queue="briefs",state="${state}"}`,
    ) ?? 0;

  it('runs to its end when called with time_limit=3000000 (Python), or with its own limit of 40 days', async () => {
    // Celery's per-call header: [time_limit, soft_time_limit].
    for (const timelimit of [
      [3_000_000, null],
      [3_000_000, 2_999_000],
      [null, null],
      [1e12, 1e11],
    ]) {
      await send(
        sqs,
        'limits-local-briefs',
        encodeMessage({ task: 'brief', timelimit } as Parameters<typeof encodeMessage>[0]),
      );
    }
    await waitFor(
      'the four to end',
      async () => ((await count('succeeded')) + (await count('failed')) >= 4 ? true : undefined),
      60_000,
    );
    expect(await count('failed')).toBe(0);
    expect(await count('succeeded')).toBe(4);
    expect(stuck).toEqual([]);
  }, 90_000);
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeMessage, encodeMessage, withHeaders } from '../../templates/worker/src/runtime/codec.ts';
import { RetryLaterError } from '../../templates/worker/src/runtime/errors.ts';
import { DEFAULT_RETRY, retryDelaySeconds } from '../../templates/worker/src/runtime/retry.ts';
import { defineTask, retryPolicy } from '../../templates/worker/src/runtime/task.ts';

describe('retryDelaySeconds', () => {
  const policy = { ...DEFAULT_RETRY, jitter: false };

  it('doubles from baseSeconds, up to maxSeconds', () => {
    expect([0, 1, 2, 3, 10].map((retries) => retryDelaySeconds(policy, retries))).toEqual([2, 4, 8, 16, 600]);
  });

  it('never goes under a second, so a task that fails at once cannot retry in a hot loop', () => {
    expect(retryDelaySeconds({ ...policy, backoff: 'fixed', baseSeconds: 0 }, 0)).toBe(1);
    expect(retryDelaySeconds({ ...policy, baseSeconds: 0.1 }, 0)).toBe(1);
  });

  it('keeps a fixed delay fixed', () => {
    expect(retryDelaySeconds({ ...policy, backoff: 'fixed', baseSeconds: 7 }, 5)).toBe(7);
  });

  it('spreads a delay over its upper half with jitter', () => {
    const jittered = { ...policy, jitter: true };
    expect(retryDelaySeconds(jittered, 3, () => 0)).toBe(8);
    expect(retryDelaySeconds(jittered, 3, () => 0.999)).toBe(16);
  });
});

describe('retry policies', () => {
  it('fill unset fields from the defaults', () => {
    const task = defineTask({ name: 'x', args: z.tuple([]), retry: { maxRetries: 7 }, run: () => 0 });
    expect(retryPolicy(task)).toEqual({ ...DEFAULT_RETRY, maxRetries: 7 });
  });

  it('refuse impossible values', () => {
    const define = (retry: object) => () => defineTask({ name: 'x', args: z.tuple([]), retry, run: () => 0 });
    expect(define({ maxRetries: -1 })).toThrow(/maxRetries/);
    expect(define({ maxRetries: 1.5 })).toThrow(/maxRetries/);
    expect(define({ baseSeconds: 700, maxSeconds: 600 })).toThrow(/baseSeconds/);
    expect(() => defineTask({ name: 'x', args: z.tuple([]), timeLimitSeconds: 0, run: () => 0 })).toThrow(
      /timeLimitSeconds/,
    );
  });
});

describe('withHeaders', () => {
  it.each([true, false])('changes only the given headers and the delivery tag, keeping outer base64 = %s', (outer) => {
    const body = encodeMessage({ task: 'add', args: [1, 2], queue: 'q', outerBase64: outer });
    const before = decodeMessage(body);
    const after = decodeMessage(withHeaders(before, { retries: 1, eta: '2030-01-01T00:00:00.000+00:00' }));
    expect(after.outerBase64).toBe(outer);
    expect(after.headers).toEqual({ ...before.headers, retries: 1, eta: '2030-01-01T00:00:00.000+00:00' });
    expect(after.eta?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect([after.args, after.kwargs]).toEqual([[1, 2], {}]);
    const tag = (message: typeof before) => (message.envelope.properties as { delivery_tag: string }).delivery_tag;
    expect(tag(after)).not.toBe(tag(before));
  });
});

describe('delays that would reach a timer or SQS as NaN or Infinity', () => {
  it('a retry policy without a finite maxSeconds is refused at definition', () => {
    const define = (retry: object) => () => defineTask({ name: 'x', args: z.tuple([]), retry, run: () => 0 });
    expect(define({ maxSeconds: Number.POSITIVE_INFINITY })).toThrow(/finite/);
    expect(define({ baseSeconds: Number.NaN })).toThrow(/baseSeconds/);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('RetryLaterError(%d) is refused, saying why', (seconds) => {
    expect(() => new RetryLaterError(seconds)).toThrow(/RetryLaterError needs a finite delaySeconds ≥ 0/);
  });

  it('RetryLaterError takes any finite delay ≥ 0: a far one is refused later, by the eta horizon', () => {
    expect(new RetryLaterError(0).delaySeconds).toBe(0);
    // Below the floor: the retry waits MIN_RETRY_DELAY_SECONDS (decide.ts).
    expect(new RetryLaterError(-5).delaySeconds).toBe(-5);
    expect(new RetryLaterError(10 ** 9).delaySeconds).toBe(10 ** 9);
  });
});

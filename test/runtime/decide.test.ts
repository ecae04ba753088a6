// The decisions about one message, without SQS: what happens before a task runs, and after it fails.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Routes } from '../../templates/worker/src/runtime/canvas.ts';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { afterFailure, afterRun, inspect, whenUnsent } from '../../templates/worker/src/runtime/decide.ts';
import {
  CanvasError,
  CanvasSendError,
  InvalidArgumentsError,
  NonRetryableError,
  PayloadTooLargeError,
  RetryLaterError,
  UnknownTaskError,
} from '../../templates/worker/src/runtime/errors.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';

const add = defineTask({
  name: 'add',
  args: z.tuple([z.number(), z.number()]),
  retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 0, jitter: false },
  run: ([a, b]) => a + b,
});
const tasks = new Map([['add', add]]);
const NOW = Date.parse('2026-12-03T12:00:00Z');
const LIMIT = 256 * 1024;
const body = (options: Partial<Parameters<typeof encodeMessage>[0]> = {}) =>
  encodeMessage({ task: 'add', args: [1, 2], queue: 'q', ...options });

describe('inspect', () => {
  it('runs a known task with arguments its schema takes', () => {
    const verdict = inspect(body(), tasks, LIMIT, NOW);
    expect(verdict.action).toBe('run');
    if (verdict.action === 'run') expect(verdict.args).toEqual([1, 2]);
  });

  it('expires a task past its expires, before anything else', () => {
    const verdict = inspect(body({ expires: new Date(NOW - 1), eta: new Date(NOW + 60_000) }), tasks, LIMIT, NOW);
    expect(verdict.action).toBe('expire');
  });

  it('puts off a task whose eta is ahead, by the seconds left', () => {
    const verdict = inspect(body({ eta: new Date(NOW + 90_000) }), tasks, LIMIT, NOW);
    expect(verdict).toMatchObject({ action: 'wait', seconds: 90 });
    expect(inspect(body({ eta: new Date(NOW + 500) }), tasks, LIMIT, NOW).action).toBe('run');
  });

  it.each([
    ['an unknown task', body({ task: 'nope' }), UnknownTaskError],
    ['arguments the schema refuses', body({ args: ['one', 2] }), InvalidArgumentsError],
  ])('dead-letters %s with the task named', (_kind, message, type) => {
    const verdict = inspect(message, tasks, LIMIT, NOW);
    expect(verdict.action).toBe('dead-letter');
    if (verdict.action !== 'dead-letter') return;
    expect(verdict.reason.error).toBeInstanceOf(type);
    expect(verdict.reason.task).toBe(decodeMessage(message).task);
  });

  it('calls undecodable a body over the queue’s limit, or one that is not Celery’s', () => {
    const tooBig = inspect(body(), tasks, 100, NOW);
    expect(tooBig.action).toBe('undecodable');
    if (tooBig.action === 'undecodable') expect(tooBig.reason.error).toBeInstanceOf(PayloadTooLargeError);
    expect(inspect('hello', tasks, LIMIT, NOW).action).toBe('undecodable');
  });
});

describe('afterFailure', () => {
  const celery = (retries: number) => decodeMessage(body({ retries }));
  const options = { maxBytes: LIMIT, now: NOW };

  it('retries as Celery does: retries + 1, an eta, the same id and arguments', () => {
    const failed = celery(0);
    const outcome = afterFailure(failed, add, new Error('boom'), options);
    expect(outcome.action).toBe('retry');
    if (outcome.action !== 'retry') return;
    const retry = decodeMessage(outcome.body);
    expect(retry.retries).toBe(1);
    expect(retry.id).toBe(failed.id);
    expect(retry.args).toEqual([1, 2]);
    expect(retry.eta?.getTime()).toBe(NOW + outcome.delaySeconds * 1000);
  });

  it('never retries sooner than a second, whatever the policy or RetryLaterError asks', () => {
    for (const error of [new Error('boom'), new RetryLaterError(0)]) {
      const outcome = afterFailure(celery(0), add, error, options);
      expect(outcome).toMatchObject({ action: 'retry', delaySeconds: 1 });
    }
  });

  it('waits at least minDelaySeconds (a run given up at its hard limit)', () => {
    expect(afterFailure(celery(0), add, new Error('stuck'), { ...options, minDelaySeconds: 45 })).toMatchObject({
      action: 'retry',
      delaySeconds: 45,
    });
  });

  it('dead-letters once maxRetries are used, and at once on NonRetryableError', () => {
    expect(afterFailure(celery(2), add, new Error('boom'), options)).toMatchObject({
      action: 'dead-letter',
      why: '2 retries used',
    });
    expect(afterFailure(celery(0), add, new NonRetryableError('no'), options)).toMatchObject({
      action: 'dead-letter',
      why: 'not retryable',
    });
  });

  it('drops the outer base64 layer of a retry that would not fit with it', () => {
    const failed = celery(0);
    const size = Buffer.byteLength(body());
    const outcome = afterFailure(failed, add, new Error('boom'), { ...options, maxBytes: size + 10 });
    expect(outcome.action).toBe('retry');
    if (outcome.action !== 'retry') return;
    expect(outcome.body.startsWith('{')).toBe(true);
    expect(decodeMessage(outcome.body)).toMatchObject({ id: failed.id, retries: 1, args: [1, 2] });
  });

  it('dead-letters a task whose retry would not fit in its queue', () => {
    const outcome = afterFailure(celery(0), add, new Error('boom'), { ...options, maxBytes: 100 });
    expect(outcome.action).toBe('dead-letter');
    if (outcome.action === 'dead-letter') expect(outcome.reason.error).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('the canvas of a message', () => {
  const routes: Routes = [['py.*', 'q-py']];
  const withCanvas = (embed: Record<string, unknown>, args: unknown[] = [1, 2]) => body({ args, embed });
  const alert = { task: 'py.alert', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false };

  it('refuses, unrun, a task whose next step nothing routes, saying so', () => {
    const next = { ...alert, task: 'billing.charge' };
    const verdict = inspect(withCanvas({ chain: [next] }), tasks, LIMIT, NOW, routes);
    expect(verdict.action).toBe('dead-letter');
    if (verdict.action !== 'dead-letter') return;
    expect(verdict.reason.error).toBeInstanceOf(CanvasError);
    expect(verdict.reason.error.message).toMatch(/^not run: nothing routes task "billing.charge"/);
    expect(verdict.errbacks ?? []).toEqual([]);
  });

  it('runs a task whose links and next step are routed', () => {
    const verdict = inspect(withCanvas({ callbacks: [alert], chain: [alert] }), tasks, LIMIT, NOW, routes);
    expect(verdict.action).toBe('run');
  });

  it('sends the link_errors of a task whose arguments its schema refuses, as Celery does for a TypeError', () => {
    const verdict = inspect(withCanvas({ errbacks: [alert] }, ['one', 2]), tasks, LIMIT, NOW, routes);
    expect(verdict).toMatchObject({ action: 'dead-letter', errbacks: [{ queue: 'q-py' }] });
  });

  it('sends the link_errors of a task that failed for good, and none with a retry', () => {
    const failed = decodeMessage(withCanvas({ errbacks: [alert] }));
    const options = { maxBytes: LIMIT, now: NOW, routes };
    const outcome = afterFailure(failed, add, new NonRetryableError('no'), options);
    expect(outcome.action).toBe('dead-letter');
    if (outcome.action !== 'dead-letter') return;
    expect(outcome.errbacks.map(({ message }) => [message.task, message.args, message.parentId])).toEqual([
      ['py.alert', [failed.id], failed.id],
    ]);
    expect(afterFailure(failed, add, new Error('boom'), options)).not.toHaveProperty('errbacks');
  });

  it('sends the result on: links, then the chain’s next step', () => {
    const done = decodeMessage(withCanvas({ callbacks: [alert], chain: [{ ...alert, task: 'py.next' }] }));
    const { send } = afterRun(done, 3, routes, NOW);
    expect(send.map(({ message }) => [message.task, message.args])).toEqual([
      ['py.alert', [3]],
      ['py.next', [3]],
    ]);
  });

  it('dead-letters a task whose canvas cannot be sent for good — its work is done, and the reason says so', () => {
    const done = decodeMessage(withCanvas({ chain: [alert] }));
    const missing = Object.assign(new Error('SQS queue "q-py" does not exist'), { name: 'QueueNotFoundError' });
    const unsent = whenUnsent(done, missing);
    expect(unsent.action).toBe('dead-letter');
    if (unsent.action !== 'dead-letter') return;
    expect(unsent.reason.error).toBeInstanceOf(CanvasSendError);
    expect(unsent.reason.error.message).toMatch(/succeeded and its own work is done.*"q-py" does not exist/);
    expect(whenUnsent(done, new PayloadTooLargeError('too big')).action).toBe('dead-letter');
    expect(whenUnsent(done, Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })).action).toBe('leave');
  });

  it('leaves the message for SQS only on SQS’s own passing faults: its service errors, the network, a deadline', () => {
    const done = decodeMessage(withCanvas({ chain: [alert] }));
    const service = (name: string, fault: 'client' | 'server') =>
      Object.assign(new Error(name), {
        name,
        $fault: fault,
        $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 },
      });
    const passing = [
      service('InternalError', 'server'),
      service('ThrottlingException', 'client'),
      service('RequestThrottled', 'client'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('no answer in time'), { name: 'TimeoutError' }),
      new DOMException('This operation was aborted', 'AbortError'),
    ];
    for (const error of passing) expect(whenUnsent(done, error).action, error.name).toBe('leave');
  });

  it('dead-letters at once, with its reason, what sending again cannot fix: a canvas too deep to encode, any bug', () => {
    const done = decodeMessage(withCanvas({ chain: [alert] }));
    let deep: unknown = {};
    for (let depth = 0; depth < 20_000; depth++) deep = { link: [deep] };
    const tooDeep = (() => {
      try {
        JSON.stringify(deep);
      } catch (error) {
        return error;
      }
    })();
    expect(tooDeep).toBeInstanceOf(RangeError);
    for (const error of [tooDeep, new Error('a bug'), 'not even an Error', undefined]) {
      const unsent = whenUnsent(done, error, 3);
      expect(unsent.action).toBe('dead-letter');
      if (unsent.action !== 'dead-letter') continue;
      expect(unsent.reason.error).toBeInstanceOf(CanvasSendError);
      expect(unsent.reason.retries).toBe(3);
    }
    const unsent = whenUnsent(done, tooDeep);
    if (unsent.action === 'dead-letter')
      expect(unsent.reason.error.message).toMatch(/Maximum call stack size exceeded/);
  });
});

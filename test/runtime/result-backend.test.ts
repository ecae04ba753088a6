// Celery's Redis result-backend format, against what real Celery 5.2 and 5.6 store
// (test/fixtures/celery-results/, written by Celery's own tracer to a real redis-server).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import {
  decodeResult,
  encodeResult,
  type Outcome,
  ResultNotStorableError,
  resultKey,
  resultValue,
  TaskFailedError,
  type TaskMeta,
  TaskRevokedError,
} from '../../templates/worker/src/runtime/result-backend.ts';
import { REPO } from '../support/process.ts';

type Fixture = { key: string; value: string | null; ttl: number; published: string | null };
const fixtures = ['5.2', '5.6'].map((version) => {
  const file = join(REPO, 'test', 'fixtures', 'celery-results', `celery-${version}.json`);
  return [version, JSON.parse(readFileSync(file, 'utf8')) as Record<string, Fixture>] as const;
});

const request = (id: string, extra: Parameters<typeof encodeMessage>[0] extends infer O ? Partial<O> : never = {}) =>
  decodeMessage(encodeMessage({ task: 'ts.add', args: [2, 3], queue: 'q', id, ...extra }));
const stored = (outcome: Outcome, id = 'fixture-success', maxBytes = 512 * 1024) =>
  JSON.parse(encodeResult(request(id), outcome, { maxBytes })) as TaskMeta;

describe.each(fixtures)('the meta Celery %s stores', (_version, celery) => {
  const meta = (name: string) => JSON.parse(celery[name]?.value ?? 'null') as TaskMeta;

  it('is under celery-task-meta-<id>, PUBLISHed on that key with the same JSON', () => {
    for (const name of ['success', 'failure_builtin', 'failure_custom']) {
      expect(celery[name]?.key).toBe(resultKey(`fixture-${name}`));
      expect(celery[name]?.published).toBe(celery[name]?.value);
    }
    expect(celery.ignore_result?.value).toBeNull();
  });

  it('has the fields and types a TypeScript success stores, and no others', () => {
    const ours = stored({ state: 'SUCCESS', value: 5 });
    const theirs = meta('success');
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect({ ...ours, date_done: null }).toEqual({ ...theirs, date_done: null });
    // Both forms of date_done: 5.2's naive UTC and 5.6's +00:00, microseconds.
    expect(theirs.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(\+00:00)?$/);
    expect(ours.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  it('encodes a failure as {exc_type, exc_message: [...], exc_module}, as a TypeScript failure does', () => {
    const theirs = meta('failure_builtin');
    const ours = stored({ state: 'FAILURE', error: new RangeError('too far') }, 'fixture-failure_builtin');
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(Object.keys(ours.result as object).sort()).toEqual(Object.keys(theirs.result as object).sort());
    expect(ours).toMatchObject({ status: 'FAILURE', result: { exc_type: 'RangeError', exc_message: ['too far'] } });
    expect(ours.traceback).toContain('RangeError: too far');
  });

  it('reads back as TypeScript get() sees it: the value, or a TaskFailedError with exc_type and args', () => {
    expect(resultValue(meta('success'))).toBe(5);
    expect(resultValue(meta('success_none'))).toBeNull();
    expect(resultValue(meta('success_structured'))).toEqual({ a: [1, 2.5, null, 'x'], b: true });
    const failure = (() => {
      try {
        resultValue(meta('failure_builtin'));
      } catch (error) {
        return error as TaskFailedError;
      }
    })();
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect(failure).toMatchObject({
      taskId: 'fixture-failure_builtin',
      excType: 'ValueError',
      excMessage: ['bad input', 42],
      excModule: 'builtins',
    });
    expect(failure?.message).toBe('task fixture-failure_builtin failed: ValueError: bad input, 42');
    expect(failure?.traceback).toContain('raise ValueError(*args)');
    expect(() => resultValue(meta('failure_custom'))).toThrow(/failed: Refused: no$/);
  });
});

describe('a TypeScript result', () => {
  it('holds the task’s own result, its group and parent, and never its arguments', () => {
    const meta = JSON.parse(
      encodeResult(
        request('t-1', { args: ['secret-token'], kwargs: { password: 'hunter2' }, group: 'g-7', parentId: 'p-3' }),
        { state: 'SUCCESS', value: { ok: true } },
        { maxBytes: 1024 },
      ),
    ) as TaskMeta;
    expect(meta).toMatchObject({
      status: 'SUCCESS',
      result: { ok: true },
      group_id: 'g-7',
      parent_id: 'p-3',
      task_id: 't-1',
    });
    expect(JSON.stringify(meta)).not.toMatch(/secret-token|hunter2|ts\.add/);
  });

  it('stores undefined as null (Python None)', () => {
    expect(stored({ state: 'SUCCESS', value: undefined }).result).toBeNull();
  });

  it.each([1, 77, 1000, 512 * 1024])(
    'past RESULT_MAX_BYTES=%i is stored as a failure saying so, not dropped',
    (maxBytes) => {
      const value = 'x'.repeat(maxBytes + 1);
      const meta = stored({ state: 'SUCCESS', value }, 'big', maxBytes);
      expect(meta.status).toBe('FAILURE');
      expect(meta.result).toMatchObject({ exc_type: 'ResultNotStorableError' });
      expect(JSON.stringify(meta.result)).toMatch(new RegExp(`over RESULT_MAX_BYTES \\(${maxBytes}\\)`));
      expect(() => resultValue(meta)).toThrow(ResultNotStorableError.name);
    },
  );

  it('that fits exactly is stored as it is', () => {
    const json = encodeResult(request('fits'), { state: 'SUCCESS', value: 'abc' }, { maxBytes: 100_000 });
    const exact = Buffer.byteLength(json);
    expect(
      JSON.parse(encodeResult(request('fits'), { state: 'SUCCESS', value: 'abc' }, { maxBytes: exact })).status,
    ).toBe('SUCCESS');
  });

  it('that is no JSON (a BigInt, a cycle) is stored as a failure saying so', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [10n, cycle]) {
      const meta = stored({ state: 'SUCCESS', value });
      expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ResultNotStorableError' } });
      expect(JSON.stringify(meta.result)).toMatch(/not JSON/);
    }
  });

  it('failure with a huge message or stack is cut to fit, never dropped', () => {
    const error = new Error('m'.repeat(100_000));
    error.stack = 's'.repeat(1_000_000);
    const json = encodeResult(request('huge'), { state: 'FAILURE', error }, { maxBytes: 64 * 1024 });
    expect(Buffer.byteLength(json)).toBeLessThan(64 * 1024);
    expect(JSON.parse(json)).toMatchObject({ status: 'FAILURE', traceback: null, result: { exc_type: 'Error' } });
  });

  it('of a task that expired is REVOKED with Celery’s own TaskRevokedError, as Celery’s worker stores it', () => {
    const meta = stored({ state: 'FAILURE', error: new TaskRevokedError('expired') });
    expect(meta).toMatchObject({
      status: 'REVOKED',
      result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' },
      traceback: null,
    });
    expect(() => resultValue(meta)).toThrow(/was revoked: TaskRevokedError: expired$/);
  });

  it('decodes nothing stored as undefined (PENDING)', () => {
    expect(decodeResult(null)).toBeUndefined();
  });
});

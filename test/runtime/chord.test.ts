// A chord's header task on this worker, decided without SQS or Redis: which messages with a chord it
// accepts (only with a result backend that keeps the chord's counter), and the ChordError text a
// failed chord's body gets, as Celery writes it (`Dependency <id> raised <repr(exception)>`).
import { describe, expect, it } from 'vitest';
import { canvasProblem, type Routes } from '../../templates/worker/src/runtime/canvas.ts';
import { pythonRepr } from '../../templates/worker/src/runtime/chord.ts';
import { sig } from '../../templates/worker/src/runtime/producer.ts';
import { TaskFailedError } from '../../templates/worker/src/runtime/result-backend.ts';

const ROUTES: Routes = [
  ['ts.*', 'q-ts'],
  ['py.*', 'q-py'],
];
const embed = (chord: unknown) => ({ callbacks: null, errbacks: null, chain: null, chord });
const body = (options: Record<string, unknown> = {}) => ({ ...sig('py.sum'), options: { task_id: 'b-1', ...options } });

describe('a message that is a part of a chord', () => {
  it('is refused without a result backend, as before', () => {
    expect(canvasProblem(embed(body()), ROUTES)).toMatch(/chord needs a result backend/);
    expect(canvasProblem(embed(body()), ROUTES, { chords: false })).toMatch(/chord needs a result backend/);
  });

  it('is accepted with one, when its body and the body’s link_errors are routed', () => {
    expect(canvasProblem(embed(body()), ROUTES, { chords: true })).toBeUndefined();
    const linkError = { link_error: [sig('ts.on_error'), sig('py.on_error')] };
    expect(canvasProblem(embed(body(linkError)), ROUTES, { chords: true })).toBeUndefined();
  });

  it.each([
    ['a body nothing routes', { ...sig('billing.sum'), options: {} }, /nothing routes task "billing.sum"/],
    ['a body link_error nothing routes', body({ link_error: sig('billing.alert') }), /billing\.alert/],
    ['a body that is not a signature', 42, /chord's body is not a Celery signature/],
    ['a body that is a group', { ...sig('celery.group'), subtask_type: 'group' }, /links a group.*single tasks only$/],
  ])('is refused with %s', (_case, chord, reason) => {
    expect(canvasProblem(embed(chord), ROUTES, { chords: true })).toMatch(reason);
  });
});

describe('the ChordError a failed member gives the body', () => {
  it('names the exception as Python’s repr() does', () => {
    const failed = (result: unknown) =>
      new TaskFailedError({ status: 'FAILURE', result, traceback: null, children: [], date_done: null, task_id: 't' });
    const python = failed({ exc_type: 'ValueError', exc_message: ['py.fail fails'], exc_module: 'builtins' });
    expect(pythonRepr(python)).toBe("ValueError('py.fail fails')");
    expect(pythonRepr(failed({ exc_type: 'KeyError', exc_message: ["it's", 3, null, true] }))).toBe(
      `KeyError("it's", 3, None, True)`,
    );
    expect(pythonRepr(failed({ exc_type: 'Boom', exc_message: [] }))).toBe('Boom()');
    const typescript = Object.assign(new Error('a \\ b\n"c" \'d\''), { name: 'NonRetryableError' });
    expect(pythonRepr(typescript)).toBe(`NonRetryableError('a \\\\ b\\n"c" \\'d\\'')`);
  });
});

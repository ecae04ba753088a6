// defineTask and Celery-style argument binding (keyword arguments bound to argNames, then zod).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidArgumentsError } from '../../templates/worker/src/runtime/errors.ts';
import { defineTask, parseArguments } from '../../templates/worker/src/runtime/task.ts';

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, it returned');
}

const add = defineTask({
  name: 'add',
  args: z.tuple([z.number(), z.number()]),
  argNames: ['x', 'y'],
  run: ([x, y]) => x + y,
});

const noNames = defineTask({
  name: 'app.tasks.ping',
  args: z.tuple([z.string()]),
  run: ([host]) => host,
});

describe('defineTask', () => {
  it.each(['add-numbers', '', '1add', 'app..add', 'add numbers'])('rejects the task name %j', (name) => {
    const error = caught(() => defineTask({ name, args: z.tuple([]), run: () => undefined }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toMatch(/task name/);
  });

  it('returns the definition, frozen', () => {
    const task = defineTask({ name: 'app.tasks.add', args: z.tuple([z.number()]), run: ([x]) => x });
    expect(task.name).toBe('app.tasks.add');
    expect(task.run([4], {} as never)).toBe(4);
    expect(Object.isFrozen(task)).toBe(true);
  });
});

describe('defineTask idempotency', () => {
  const define = (idempotency: unknown) => () =>
    defineTask({ name: 'once', args: z.tuple([]), idempotency: idempotency as never, run: () => 1 });

  it.each([1, 1.5, 7, 3601, 30 * 24 * 3600])('accepts a ttlSeconds of %s', (ttlSeconds) => {
    expect(define({ ttlSeconds })().idempotency?.ttlSeconds).toBe(ttlSeconds);
    expect(define({ ttlSeconds, key: () => 'k' })().idempotency?.key).toBeTypeOf('function');
  });

  it.each([0, 0.5, -1, 30 * 24 * 3600 + 1, Number.NaN, Number.POSITIVE_INFINITY, '60', undefined])(
    'refuses a ttlSeconds of %s with a TypeError naming the task and the bound',
    (ttlSeconds) => {
      const error = caught(define({ ttlSeconds }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(
        /defineTask once: idempotency.ttlSeconds must be a number from 1 to 2592000 \(30 days\)/,
      );
    },
  );

  it('refuses a key that is not a function', () => {
    expect(caught(define({ ttlSeconds: 60, key: 'order' })).message).toMatch(/idempotency.key must be a function/);
  });
});

describe('parseArguments', () => {
  it('validates positional arguments with the schema', () => {
    expect(parseArguments(add, [2, 3], {})).toEqual([2, 3]);
  });

  it('returns the schema output (transforms applied)', () => {
    const shout = defineTask({
      name: 'shout',
      args: z.tuple([z.string().transform((s) => s.toUpperCase())]),
      run: ([s]) => s,
    });
    expect(parseArguments(shout, ['hi'], {})).toEqual(['HI']);
  });

  it('names the task and the argument index when a positional argument is invalid', () => {
    const error = caught(() => parseArguments(add, [2, 'three'], {}));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toMatch(/^task add: /);
    expect(error.message).toContain('args[1]');
    expect(error.message).not.toContain('args[0]');
  });

  it('refuses too many positional arguments', () => {
    const error = caught(() => parseArguments(add, [1, 2, 3], {}));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toMatch(/^task add: /);
  });

  it('binds keyword arguments to argNames like Python', () => {
    expect(parseArguments(add, [], { x: 2, y: 3 })).toEqual([2, 3]);
    expect(parseArguments(add, [], { y: 3, x: 2 })).toEqual([2, 3]);
  });

  it('binds keywords after the positional arguments', () => {
    expect(parseArguments(add, [2], { y: 3 })).toEqual([2, 3]);
  });

  it('validates keyword-bound arguments with the schema, naming their position', () => {
    const error = caught(() => parseArguments(add, [2], { y: 'three' }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toMatch(/^task add: /);
    expect(error.message).toContain('args[1]');
  });

  it('refuses an unexpected keyword argument, naming it', () => {
    const error = caught(() => parseArguments(add, [2], { y: 3, z: 4 }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toContain('task add');
    expect(error.message).toContain('unexpected keyword argument "z"');
    expect(error.message).toContain('x, y');
  });

  it('refuses a keyword that repeats a positional argument', () => {
    const error = caught(() => parseArguments(add, [2], { x: 5 }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toContain('task add');
    expect(error.message).toContain('multiple values for argument "x"');
  });

  it('refuses a missing argument, naming it', () => {
    const error = caught(() => parseArguments(add, [], { y: 3 }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toContain('task add');
    expect(error.message).toContain('missing argument "x"');
  });

  it('refuses a missing trailing argument', () => {
    const error = caught(() => parseArguments(add, [], { x: 2 }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toMatch(/^task add: /);
  });

  it('refuses keyword arguments for a task without argNames', () => {
    const error = caught(() => parseArguments(noNames, [], { host: 'example.com' }));
    expect(error).toBeInstanceOf(InvalidArgumentsError);
    expect(error.message).toContain('task app.tasks.ping');
    expect(error.message).toContain('unexpected keyword argument "host"');
    expect(error.message).toContain('argNames');
  });

  it('accepts positional arguments for a task without argNames', () => {
    expect(parseArguments(noNames, ['example.com'], {})).toEqual(['example.com']);
  });
});

// The prompts validate with the same declaration as the flags (src/options.ts): each answer typed
// at a prompt goes through the validator the prompt gets, and a refused answer is asked again.
// A stub stands in for @clack/prompts, typing its answers in turn, so answers a terminal cannot
// type (a newline inside a text prompt submits it) are checked too.
import { describe, expect, it } from 'vitest';
import { type Ask, collectSpec } from '../../src/collect.ts';

/**
 * Types `typed[key]` in turn at each prompt, keeping what the validator said to the refused ones and
 * the initial value each prompt was given. An empty string is Enter on an empty prompt.
 */
function typist(typed: Record<string, string[]>) {
  const refusals: Record<string, string[]> = {};
  const initials: Record<string, string> = {};
  const ask: Ask = async (option, initial, validate) => {
    initials[option.key] = initial;
    for (const text of typed[option.key] ?? ['']) {
      const problem = validate(text);
      if (problem === undefined) return text;
      refusals[option.key] = [...(refusals[option.key] ?? []), problem];
    }
    throw new Error(`every answer typed at ${option.key} was refused: ${refusals[option.key]?.join(' | ')}`);
  };
  return { ask, refusals, initials };
}

const collect = (ask: Ask) => collectSpec({ flags: { user: 'ann' }, yes: false, ask, directory: undefined });

describe('the prompts', () => {
  it('refuse a description with control characters, with the rule, and take the next answer', async () => {
    const { ask, refusals } = typist({
      name: ['prompted'],
      description: ['two\nlines', 'red \x1b[31malert', 'C1 \u009b2J', 'One clean line'],
    });
    const spec = await collect(ask);
    expect(spec.description).toBe('One clean line');
    expect(refusals.description).toHaveLength(3);
    for (const problem of refusals.description ?? []) {
      // No flag named: the user typed at a prompt, not --description.
      expect(problem).toMatch(/^a description is one line of printable text/);
      expect(problem).not.toMatch(/\p{Cc}/u);
    }
  });

  it('refuse two queues running the same task, naming them, and take the next answer', async () => {
    const { ask, refusals } = typist({ name: ['prompted'], queues: ['q:add, r:add', 'q:add, r:resize'] });
    const spec = await collect(ask);
    expect(spec.queues).toEqual([
      { queue: 'q', task: 'add' },
      { queue: 'r', task: 'resize' },
    ]);
    expect(refusals.queues).toEqual([
      'queues "q" and "r" both run task "add", but a task runs from one queue only; give "r" a task of its own: r:<task>',
    ]);
  });

  it('say what is wrong without naming a flag the user never typed', async () => {
    const { ask, refusals } = typist({
      name: ['Bad Name', 'good-name'],
      queues: ['weird queue', 'q:1x', 'q:add:bad limit', 'q:add'],
    });
    await collect(ask);
    expect(refusals.name).toEqual([
      'a worker name is lower-case letters, digits and single hyphens, starting with a letter (npm- and SQS-safe), e.g. "image-resizer" (got "Bad Name")',
    ]);
    expect(refusals.queues).toEqual([
      'an SQS queue name is letters, digits, "-" and "_" only (FIFO queues end in ".fifo") (got "weird queue")',
      'a task name is a Celery-style identifier: dot-separated words of letters, digits and "_", e.g. "add" or "app.tasks.add" (got "1x")',
      'a ratelimit name is letters, digits, "_", ".", ":" and "-", starting with a letter or digit (got "bad limit")',
    ]);
  });

  it('refuse Enter on the empty name prompt: the example shown in grey is not an answer', async () => {
    const { ask, refusals, initials } = typist({ name: ['', 'shop'] });
    const spec = await collect(ask);
    expect(initials.name).toBe('');
    expect(refusals.name).toEqual(['type one: "image-resizer", in grey, is only an example']);
    expect(spec.name).toBe('shop');
    expect(spec.queues).toEqual([{ queue: 'shop-add', task: 'add' }]);
  });

  it('offer ratelimit ticked when a queue names a ratelimit, and refuse leaving it out', async () => {
    const { ask, refusals, initials } = typist({
      name: ['shop'],
      queues: ['orders:ship:orders-limit'],
      integrations: ['sentry', 'none', 'ratelimit,sentry'],
    });
    const spec = await collect(ask);
    expect(initials.integrations).toBe('ratelimit');
    const refusal =
      'queue "orders" names ratelimit "orders-limit", which needs the ratelimit integration: select ratelimit, or press Ctrl-C and leave the name out';
    expect(refusals.integrations).toEqual([refusal, refusal]);
    expect(spec.integrations).toEqual(['ratelimit', 'sentry']);
  });
});

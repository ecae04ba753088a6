// The prompts validate with the same declaration as the flags (src/options.ts): each answer typed
// at a prompt goes through the validator the prompt gets, and a refused answer is asked again.
// A stub stands in for @clack/prompts, typing its answers in turn, so answers a terminal cannot
// type (a newline inside a text prompt submits it) are checked too.
import { describe, expect, it } from 'vitest';
import { type Ask, collectSpec } from '../../src/collect.ts';

/** Types `typed[key]` in turn at each prompt, keeping what the validator said to the refused ones. */
function typist(typed: Record<string, string[]>) {
  const refusals: Record<string, string[]> = {};
  const ask: Ask = async (option, _initial, validate) => {
    for (const text of typed[option.key] ?? ['']) {
      const problem = validate(text);
      if (problem === undefined) return text;
      refusals[option.key] = [...(refusals[option.key] ?? []), problem];
    }
    throw new Error(`every answer typed at ${option.key} was refused: ${refusals[option.key]?.join(' | ')}`);
  };
  return { ask, refusals };
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
      expect(problem).toContain('--description: a description is one line of printable text');
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
      '--queue: queues "q" and "r" both run task "add", but a task runs from one queue only; give "r" a task of its own: --queue r:<task>',
    ]);
  });
});

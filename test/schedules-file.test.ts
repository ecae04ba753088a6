// src/config/schedules.ts edited on its syntax tree, on layouts a team may have written: an empty
// list, plain objects, one line, comments; add then rm gives back the same bytes.
import { describe, expect, it } from 'vitest';
import { appendSchedule, literal, removeSchedule, scheduleNames } from '../src/source/schedules-file.ts';

const ship = { identifier: 'ship', specifier: '../tasks/ship.ts' };
const sendMail = { identifier: 'sendMail', specifier: '../tasks/send_mail.ts' };

const EMPTY = `// Periodic tasks.
import { schedule, type ScheduleEntry } from '../runtime/index.ts';

export const schedules: ScheduleEntry[] = [];
`;

describe('appendSchedule and removeSchedule', () => {
  it('fills an empty list with a schedule() call, imports the task, and rm gives the file back', () => {
    const added = appendSchedule(EMPTY, { name: 'daily', args: ['a', 1], expression: 'rate(1 day)' }, ship);
    expect(added).toBe(`// Periodic tasks.
import { schedule, type ScheduleEntry } from '../runtime/index.ts';
import { ship } from '../tasks/ship.ts';

export const schedules: ScheduleEntry[] = [
  schedule({
    name: 'daily',
    task: ship,
    args: ['a', 1],
    expression: 'rate(1 day)',
  }),
];
`);
    expect(scheduleNames(added)).toEqual(['daily']);
    expect(removeSchedule(added, 'daily')).toBe(EMPTY);
  });

  it('follows plain objects and double quotes, keeps comments, and cuts an entry with the comment above it', () => {
    const source = `import { ship } from "../tasks/ship.ts"; // the money path
import type { ScheduleEntry } from "../runtime/index.ts";

export const schedules = [
  // Keep: ops reads it.
  { name: "a", task: ship, expression: "rate(1 day)" } /* hot */,
] satisfies ScheduleEntry[];
`;
    const added = appendSchedule(
      source,
      { name: 'b', kwargs: { 'dry-run': true, to: "o'hare" }, expression: 'rate(2 days)', timezone: 'UTC' },
      sendMail,
    );
    // Before the first relative import that sorts after it, as Biome would order them.
    expect(added).toBe(
      `import { sendMail } from "../tasks/send_mail.ts";
import { ship } from "../tasks/ship.ts"; // the money path
import type { ScheduleEntry } from "../runtime/index.ts";

export const schedules = [
  // Keep: ops reads it.
  { name: "a", task: ship, expression: "rate(1 day)" } /* hot */,
  {
    name: "b",
    task: sendMail,
    kwargs: { "dry-run": true, to: "o'hare" },
    expression: "rate(2 days)",
    timezone: "UTC",
  },
];
`.replace('];\n', '] satisfies ScheduleEntry[];\n'),
    );
    expect(removeSchedule(added, 'b')).toBe(source);
    // The first one goes with its comment; its import stays (a's task is ship, which b does not use).
    const withoutA = removeSchedule(added, 'a');
    expect(withoutA).not.toContain('Keep: ops');
    expect(withoutA).not.toContain('import { ship }');
    expect(withoutA).toContain('import { sendMail }');
  });

  it('cuts from a one-line list, first, middle and last', () => {
    const source = `import { ship } from './ship.ts';
export const schedules = [schedule({ name: 'x', task: ship }), schedule({ name: 'y', task: ship }), schedule({ name: 'z', task: ship })];
`;
    expect(removeSchedule(source, 'x')).toContain(
      "[schedule({ name: 'y', task: ship }), schedule({ name: 'z', task: ship })]",
    );
    expect(removeSchedule(source, 'y')).toContain(
      "[schedule({ name: 'x', task: ship }), schedule({ name: 'z', task: ship })]",
    );
    expect(removeSchedule(source, 'z')).toContain(
      "[schedule({ name: 'x', task: ship }), schedule({ name: 'y', task: ship })]",
    );
    expect(removeSchedule(removeSchedule(removeSchedule(source, 'z'), 'y'), 'x')).toBe(
      'export const schedules = [];\n',
    );
  });

  it('refuses a name taken, a name that is not there, and an identifier bound to something else', () => {
    const added = appendSchedule(EMPTY, { name: 'daily', expression: 'rate(1 day)' }, ship);
    expect(() => appendSchedule(added, { name: 'daily', expression: 'rate(1 day)' }, ship)).toThrow(
      'schedule "daily" is already in src/config/schedules.ts; pick another name',
    );
    expect(() => removeSchedule(added, 'weekly')).toThrow(
      'no schedule "weekly" in src/config/schedules.ts; its schedules: daily',
    );
    const clash = `import { ship } from '../somewhere/else.ts';\n${EMPTY}`;
    expect(() => appendSchedule(clash, { name: 'n', expression: 'rate(1 day)' }, ship)).toThrow(
      "already has a `ship` that is not the task's",
    );
  });
});

describe('literal', () => {
  it.each([
    [[], '[]'],
    [{}, '{}'],
    [["it's", 'say "hi"', 'both \' "'], `["it's", 'say "hi"', 'both \\' "']`],
    [[0, -1.5, 1e21, null, true], '[0, -1.5, 1e+21, null, true]'],
    [{ a: { b: [1] }, 'c d': 'x\ny' }, "{ a: { b: [1] }, 'c d': 'x\\ny' }"],
  ])('%j is %s', (value, source) => {
    expect(literal(value, "'")).toBe(source);
  });
});

describe('on the generated file, its example commented out', () => {
  const GENERATED = `// Periodic tasks.
import type { ScheduleEntry } from '../runtime/index.ts';
// import { schedule } from '../runtime/index.ts';
// import { ship } from '../tasks/ship.ts';

export const schedules: ScheduleEntry[] = [
  // schedule({
  //   name: 'nightly-ship',
  //   task: ship,
  // }),
];
`;

  it('adds below the example, imports schedule() and the task; rm of both gives the file back', () => {
    const one = appendSchedule(GENERATED, { name: 'a', args: ['x'], expression: 'rate(1 day)' }, ship);
    expect(one).toBe(`// Periodic tasks.
import type { ScheduleEntry } from '../runtime/index.ts';
import { schedule } from '../runtime/index.ts';
import { ship } from '../tasks/ship.ts';
// import { schedule } from '../runtime/index.ts';
// import { ship } from '../tasks/ship.ts';

export const schedules: ScheduleEntry[] = [
  // schedule({
  //   name: 'nightly-ship',
  //   task: ship,
  // }),

  schedule({
    name: 'a',
    task: ship,
    args: ['x'],
    expression: 'rate(1 day)',
  }),
];
`);
    const two = appendSchedule(one, { name: 'b', expression: 'rate(2 days)' }, sendMail);
    expect(two).toContain(
      "import { sendMail } from '../tasks/send_mail.ts';\nimport { ship } from '../tasks/ship.ts';",
    );
    expect(removeSchedule(removeSchedule(two, 'b'), 'a')).toBe(GENERATED);
    expect(removeSchedule(removeSchedule(two, 'a'), 'b')).toBe(GENERATED);
    expect(removeSchedule(two, 'a')).toContain("  // }),\n\n  schedule({\n    name: 'b',");
  });
});

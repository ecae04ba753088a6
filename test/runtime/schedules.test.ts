// src/config/schedules.ts as the worker resolves it at start-up (and the CLI before provisioning):
// every refusal is one sentence that names the schedule and the field.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  resolveSchedules,
  type ScheduleEntry,
  ScheduleError,
  schedule,
} from '../../templates/worker/src/runtime/schedules.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';

const add = defineTask({
  name: 'add',
  args: z.tuple([z.number(), z.number()]),
  argNames: ['x', 'y'],
  run: ([x, y]) => x + y,
});
const report = defineTask({ name: 'reports.build', args: z.tuple([z.string()]), run: () => undefined });
const orphan = defineTask({ name: 'orphan', args: z.tuple([]), run: () => undefined });
const stranger = defineTask({ name: 'stranger', args: z.tuple([]), run: () => undefined });
const tasks = [add, report, orphan];
const bindings = [
  { queue: 'adds', task: 'add' },
  { queue: 'reports', task: 'reports.build' },
  { queue: 'reports-bulk', task: 'reports.build' },
];

const base = schedule({ name: 'sum', task: add, args: [1, 2], expression: 'rate(5 minutes)' });

/** The sentence resolveSchedules refuses `entries` with. */
function refusal(...entries: ScheduleEntry[]): string {
  try {
    resolveSchedules(entries, tasks, bindings);
  } catch (error) {
    expect(error).toBeInstanceOf(ScheduleError);
    const message = (error as Error).message;
    // One sentence: no line break, no full stop before another sentence.
    expect(message).not.toMatch(/\n|\.\s+[A-Z]/);
    return message;
  }
  throw new Error('expected resolveSchedules to refuse the entries, it accepted them');
}

describe('resolveSchedules', () => {
  it('resolves entries to names, the queue, JSON arguments and the default time zone UTC', () => {
    const resolved = resolveSchedules(
      [
        base,
        schedule({
          name: 'Nightly_report.v2',
          task: report,
          args: ['daily'],
          queue: 'reports-bulk',
          expression: 'cron(0 2 ? * MON-FRI *)',
          timezone: 'Europe/Paris',
          flexibleWindowMinutes: 1440,
          start: '2026-01-01T00:00:00Z',
          end: '2027-01-01',
          description: 'the weekday report',
        }),
        schedule({
          name: 'k',
          task: add,
          kwargs: { x: 1, y: 2 },
          expression: 'rate(1 minute)',
          flexibleWindowMinutes: 1,
        }),
      ],
      tasks,
      bindings,
    );
    expect(resolved).toEqual([
      {
        name: 'sum',
        task: 'add',
        queue: 'adds',
        args: [1, 2],
        kwargs: {},
        expression: 'rate(5 minutes)',
        timezone: 'UTC',
      },
      {
        name: 'Nightly_report.v2',
        task: 'reports.build',
        queue: 'reports-bulk',
        args: ['daily'],
        kwargs: {},
        expression: 'cron(0 2 ? * MON-FRI *)',
        timezone: 'Europe/Paris',
        flexibleWindowMinutes: 1440,
        start: '2026-01-01T00:00:00Z',
        end: '2027-01-01',
        description: 'the weekday report',
      },
      {
        name: 'k',
        task: 'add',
        queue: 'adds',
        args: [],
        kwargs: { x: 1, y: 2 },
        expression: 'rate(1 minute)',
        timezone: 'UTC',
        flexibleWindowMinutes: 1,
      },
    ]);
    expect(resolveSchedules([], tasks, bindings)).toEqual([]);
  });

  it('takes a name of 64 characters, the most EventBridge allows', () => {
    const name = 'a'.repeat(64);
    expect(resolveSchedules([{ ...base, name }], tasks, bindings)[0]?.name).toBe(name);
  });

  it.each([
    [
      'a task this worker does not have',
      { task: stranger },
      'schedule "sum": task "stranger" is not one of this worker\'s tasks',
    ],
    [
      'a task bound to no queue',
      { task: orphan, args: [] },
      'schedule "sum": task "orphan" runs from no queue in src/config/queues.ts',
    ],
    [
      'a queue that does not run the task',
      { queue: 'reports' },
      'schedule "sum": queue "reports" does not run task "add"',
    ],
    [
      'args of the wrong type',
      { args: [1, 'two'] },
      'schedule "sum": args are refused by task add\'s schema (args[1]:',
    ],
    ['too few args', { args: [1] }, 'schedule "sum": args are refused by task add\'s schema'],
    [
      'an unknown keyword',
      { args: [], kwargs: { z: 3 } },
      'schedule "sum": args/kwargs are refused by task add\'s schema (unexpected keyword argument "z"',
    ],
    ['args that are not JSON', { args: [1, 10n] }, 'schedule "sum": args cannot be sent as JSON'],
    [
      'a cron of five fields',
      { expression: 'cron(0 2 * * *)' },
      'schedule "sum": expression "cron(0 2 * * *)" is not one EventBridge accepts:',
    ],
    [
      'a rate of 0',
      { expression: 'rate(0 minutes)' },
      'schedule "sum": expression "rate(0 minutes)" is not one EventBridge accepts:',
    ],
    [
      'something else',
      { expression: 'every day' },
      'schedule "sum": expression "every day" is not one EventBridge accepts:',
    ],
    [
      'a made-up time zone',
      { timezone: 'Mars/Olympus_Mons' },
      'schedule "sum": timezone is one EventBridge refuses: time zone "Mars/Olympus_Mons" is not an IANA time zone',
    ],
    ['a flexible window of 0', { flexibleWindowMinutes: 0 }, 'schedule "sum": flexibleWindowMinutes is 0:'],
    ['a flexible window of 1441', { flexibleWindowMinutes: 1441 }, 'schedule "sum": flexibleWindowMinutes is 1441:'],
    ['a flexible window of 2.5', { flexibleWindowMinutes: 2.5 }, 'schedule "sum": flexibleWindowMinutes is 2.5:'],
    ['a start that is no date', { start: 'tomorrow' }, 'schedule "sum": start "tomorrow" is not an ISO 8601 date'],
    [
      'an end before the start',
      { start: '2026-05-01', end: '2026-04-01' },
      'schedule "sum": end (2026-04-01) is not after start (2026-05-01)',
    ],
    [
      'a description too long',
      { description: 'x'.repeat(513) },
      'schedule "sum": description is 513 characters long; EventBridge takes at most 512',
    ],
  ] as [string, Partial<ScheduleEntry>, string][])(
    'refuses %s in one sentence naming the schedule and the field',
    (_, change, sentence) => {
      expect(refusal({ ...base, ...change })).toContain(sentence);
    },
  );

  it('refuses a task run from several queues unless the entry names one', () => {
    expect(refusal(schedule({ name: 'r', task: report, args: ['x'], expression: 'rate(1 hour)' }))).toBe(
      'schedule "r": queue is missing: task "reports.build" runs from reports, reports-bulk; name one',
    );
  });

  it.each([
    [
      '65 characters',
      'b'.repeat(65),
      `schedule "${'b'.repeat(65)}": name is 65 characters long; EventBridge takes at most 64: shorten it`,
    ],
    [
      'a space and a slash',
      'nightly report/v2',
      'schedule "nightly report/v2": name has characters EventBridge refuses (" ", "/"): use only letters, digits, "-", "_" and "."',
    ],
    ['no name', '', 'a schedule in src/config/schedules.ts has no name: give it one (letters, digits, "-", "_", ".")'],
  ])('refuses a name of %s', (_, name, sentence) => {
    expect(refusal({ ...base, name })).toBe(sentence);
  });

  it('refuses a name used twice, even for different tasks', () => {
    const other = schedule({ name: 'sum', task: report, args: ['x'], queue: 'reports', expression: 'rate(2 hours)' });
    expect(refusal(base, other)).toBe(
      'schedule "sum": its name is used twice in src/config/schedules.ts; give each schedule a name of its own',
    );
  });

  it('types args by the task’s schema', () => {
    // @ts-expect-error the second argument of add is a number
    const wrong = schedule({ name: 'typed', task: add, args: [1, 'two'], expression: 'rate(1 day)' });
    expect(wrong.name).toBe('typed');
  });
});

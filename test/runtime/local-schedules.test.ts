// `npm run dev`'s schedules (scripts/dev.ts): fired at their times, with fake timers, each firing the
// schedule's message as EventBridge fills it in; what dev says at start; errors and stop.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import {
  describeLocalSchedules,
  type LocalFiring,
  startLocalSchedules,
} from '../../templates/worker/src/runtime/local-schedules.ts';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';

const START = '2026-03-02T10:00:30.000Z'; // a Monday
const MINUTE = 60_000;
const entry = (name: string, expression: string, more: Partial<ResolvedSchedule> = {}): ResolvedSchedule => ({
  name,
  task: 'reports.build',
  queue: 'reports',
  args: [name],
  kwargs: {},
  expression,
  timezone: 'UTC',
  ...more,
});

const minutely = entry('minutely', 'rate(1 minute)');
const paris = entry('noon-paris', 'cron(0 12 * * ? *)', { timezone: 'Europe/Paris', flexibleWindowMinutes: 30 });
const weekdays = entry('weekdays', 'cron(15 10 ? * MON-FRI *)');
const ended = entry('ended', 'rate(1 hour)', { end: '2026-03-02T10:30:00Z' });

const iso = (firings: LocalFiring[], name?: string) =>
  firings
    .filter(({ schedule }) => !name || schedule.name === name)
    .map(({ scheduledTime }) => scheduledTime.toISOString());

beforeEach(() => {
  vi.useFakeTimers({ now: new Date(START) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startLocalSchedules', () => {
  it('says when each schedule fires next, in its own time zone', () => {
    const fired = startLocalSchedules({ schedules: [minutely, paris, weekdays, ended], send: async () => {} });
    expect(fired.upcoming().map(({ schedule, next }) => [schedule.name, next?.toISOString()])).toEqual([
      ['minutely', '2026-03-02T10:01:30.000Z'],
      ['noon-paris', '2026-03-02T11:00:00.000Z'],
      ['weekdays', '2026-03-02T10:15:00.000Z'],
      ['ended', undefined],
    ]);
    expect(describeLocalSchedules(fired.upcoming())).toEqual([
      '  minutely: reports.build on reports, rate(1 minute), next at 2026-03-02 10:01:30 UTC',
      '  noon-paris: reports.build on reports, cron(0 12 * * ? *), next at 2026-03-02 12:00:00 Europe/Paris',
      '  weekdays: reports.build on reports, cron(15 10 ? * MON-FRI *), next at 2026-03-02 10:15:00 UTC',
      '  ended: reports.build on reports, rate(1 hour), fires no more (past its end)',
    ]);
    fired.stop();
  });

  it('sends each schedule’s message at its times, each with its own task id and its scheduled time', async () => {
    const sent: LocalFiring[] = [];
    const fired = startLocalSchedules({
      schedules: [minutely, paris, weekdays, ended],
      send: async (firing) => void sent.push(firing),
    });
    await vi.advanceTimersByTimeAsync(MINUTE - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(iso(sent)).toEqual(['2026-03-02T10:01:30.000Z']);
    // To 11:00:00 (noon in Paris): 59 minutely firings, weekdays once at 10:15, noon-paris once.
    await vi.advanceTimersByTimeAsync(58 * MINUTE + 30_000);
    expect(iso(sent, 'minutely')).toHaveLength(59);
    expect(iso(sent, 'minutely').at(-1)).toBe('2026-03-02T10:59:30.000Z');
    expect(iso(sent, 'weekdays')).toEqual(['2026-03-02T10:15:00.000Z']);
    expect(iso(sent, 'noon-paris')).toEqual(['2026-03-02T11:00:00.000Z']);
    expect(iso(sent, 'ended')).toEqual([]);
    for (const { schedule, executionId, scheduledTime, body } of sent) {
      const celery = decodeMessage(body);
      expect(celery).toMatchObject({ task: 'reports.build', id: executionId, args: [schedule.name] });
      expect(celery.headers).toMatchObject({
        schedule: schedule.name,
        root_id: executionId,
        scheduled_time: scheduledTime.toISOString().replace('.000Z', 'Z'),
      });
    }
    expect(new Set(sent.map(({ executionId }) => executionId)).size).toBe(sent.length);
    fired.stop();
  });

  it('goes on after a send fails, and says which', async () => {
    const errors: string[] = [];
    const sent: LocalFiring[] = [];
    let calls = 0;
    const fired = startLocalSchedules({
      schedules: [minutely],
      send: async (firing) => {
        if (++calls === 2) throw new Error('the queue does not exist yet');
        sent.push(firing);
      },
      onError: (firing, error) => errors.push(`${firing.scheduledTime.toISOString()}: ${(error as Error).message}`),
    });
    await vi.advanceTimersByTimeAsync(3 * MINUTE + 30_000);
    expect(errors).toEqual(['2026-03-02T10:02:30.000Z: the queue does not exist yet']);
    expect(iso(sent)).toEqual(['2026-03-02T10:01:30.000Z', '2026-03-02T10:03:30.000Z']);
    fired.stop();
  });

  it('tells each firing with the next time, and sends nothing once stopped', async () => {
    const told: string[] = [];
    let sends = 0;
    const fired = startLocalSchedules({
      schedules: [entry('every-7', 'rate(7 minutes)')],
      send: async () => void sends++,
      onFired: (firing, next) => told.push(`${firing.scheduledTime.toISOString()} → ${next?.toISOString()}`),
    });
    await vi.advanceTimersByTimeAsync(14 * MINUTE);
    expect(told).toEqual([
      '2026-03-02T10:07:30.000Z → 2026-03-02T10:14:30.000Z',
      '2026-03-02T10:14:30.000Z → 2026-03-02T10:21:30.000Z',
    ]);
    fired.stop();
    expect(fired.upcoming()[0]?.next).toBeUndefined();
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(sends).toBe(2);
  });

  it('fires a schedule months away on time, past the longest a Node timer waits (24.8 days)', async () => {
    const sent: LocalFiring[] = [];
    const fired = startLocalSchedules({
      schedules: [entry('new-year', 'cron(0 0 1 1 ? *)', { timezone: 'Pacific/Kiritimati' })],
      send: async (firing) => void sent.push(firing),
    });
    // Midnight on 1 January at UTC+14 is 10:00 UTC on 31 December.
    const due = Date.parse('2026-12-31T10:00:00Z');
    await vi.advanceTimersByTimeAsync(due - Date.now() - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(iso(sent)).toEqual(['2026-12-31T10:00:00.000Z']);
    expect(fired.upcoming()[0]?.next?.toISOString()).toBe('2027-12-31T10:00:00.000Z');
    fired.stop();
  });

  it('after the machine slept through firings, sends the one that was due once, late, and skips the rest', async () => {
    const sent: LocalFiring[] = [];
    const fired = startLocalSchedules({ schedules: [minutely], send: async (firing) => void sent.push(firing) });
    // Asleep for 10 minutes: the wall clock moves on, timers do not (they count time awake).
    vi.setSystemTime(Date.parse(START) + 10 * MINUTE);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(iso(sent)).toEqual(['2026-03-02T10:01:30.000Z']);
    expect(fired.upcoming()[0]?.next?.toISOString()).toBe('2026-03-02T10:12:30.000Z');
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(iso(sent)).toEqual(['2026-03-02T10:01:30.000Z', '2026-03-02T10:12:30.000Z']);
    fired.stop();
  });

  it('starts a rate at its start date when that is later, and stops at its end', async () => {
    const sent: LocalFiring[] = [];
    const fired = startLocalSchedules({
      schedules: [entry('window', 'rate(10 minutes)', { start: '2026-03-02T11:00:00Z', end: '2026-03-02T11:25:00Z' })],
      send: async (firing) => void sent.push(firing),
    });
    await vi.advanceTimersByTimeAsync(3 * 60 * MINUTE);
    expect(iso(sent)).toEqual(['2026-03-02T11:00:00.000Z', '2026-03-02T11:10:00.000Z', '2026-03-02T11:20:00.000Z']);
    expect(fired.upcoming()[0]?.next).toBeUndefined();
  });
});

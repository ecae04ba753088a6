// Amazon EventBridge Scheduler's schedule expressions: cron(minutes hours day-of-month month
// day-of-week year), rate(value unit) and at(yyyy-mm-ddThh:mm:ss), validated as EventBridge documents
// them and evaluated in a time zone as EventBridge does. The calendar (L, W, #, years) is croner's,
// given a faithful translation and run on wall-clock time; zoned-time.ts turns that into instants
// with EventBridge's daylight saving rules (a time in the gap is skipped, a repeated time runs once).
import { Cron } from 'croner';
import { ScheduleExpressionError } from './errors.ts';
import { checkTimeZone, instantAt, repeatedMs, steadyOffsetMs, wallClock } from './zoned-time.ts';

export { checkTimeZone };

export interface CronFields {
  minutes: string;
  hours: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
  year: string;
}

export type RateUnit = 'minutes' | 'hours' | 'days';

export type ScheduleExpression =
  | { kind: 'cron'; expression: string; fields: CronFields }
  | { kind: 'rate'; expression: string; value: number; unit: RateUnit; seconds: number }
  /** `localTime` is the wall-clock time in the schedule's time zone, yyyy-mm-ddThh:mm:ss. */
  | { kind: 'at'; expression: string; localTime: string };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

interface FieldRule {
  name: string;
  min: number;
  max: number;
  /** Quartz, which EventBridge's syntax follows, refuses larger increments. */
  maxStep: number;
  /** Names for 1, 2, … (months and weekdays). */
  names?: readonly string[];
  accepts: string;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const RULES = {
  minutes: { name: 'minutes', min: 0, max: 59, maxStep: 59, accepts: '0-59' },
  hours: { name: 'hours', min: 0, max: 23, maxStep: 23, accepts: '0-23' },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31, maxStep: 31, accepts: '1-31' },
  month: { name: 'month', min: 1, max: 12, maxStep: 12, names: MONTHS, accepts: '1-12 or JAN-DEC' },
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, maxStep: 7, names: WEEKDAYS, accepts: '1-7 or SUN-SAT' },
  year: { name: 'year', min: 1970, max: 2199, maxStep: 229, accepts: '1970-2199' },
} satisfies Record<keyof CronFields, FieldRule>;

function fail(message: string): never {
  throw new ScheduleExpressionError(message);
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation

/** Validates as EventBridge Scheduler would; throws ScheduleExpressionError naming the field. */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const match = /^(cron|rate|at)\((.*)\)$/s.exec(expression);
  if (!match) {
    // A crontab line (five fields, or six with seconds) is the usual mistake: say what EventBridge's is.
    const crontab = /^\S+(\s+\S+){4,5}$/.test(expression.trim())
      ? ": EventBridge's cron is six fields inside cron(…), minutes first and year last, with ? in day-of-month or day-of-week, e.g. cron(0 2 * * ? *) for 02:00 every day"
      : '';
    return fail(`"${expression}" is not cron(…), rate(…) or at(…)${crontab}`);
  }
  const [, kind, inner = ''] = match;
  if (kind === 'rate') return parseRate(expression, inner);
  if (kind === 'at') return { kind: 'at', expression, localTime: parseAt(inner) };
  return { kind: 'cron', expression, fields: parseCron(inner) };
}

const RATE_UNITS: Record<string, { unit: RateUnit; seconds: number; one: boolean }> = {
  minute: { unit: 'minutes', seconds: 60, one: true },
  minutes: { unit: 'minutes', seconds: 60, one: false },
  hour: { unit: 'hours', seconds: 3_600, one: true },
  hours: { unit: 'hours', seconds: 3_600, one: false },
  day: { unit: 'days', seconds: 86_400, one: true },
  days: { unit: 'days', seconds: 86_400, one: false },
};

function parseRate(expression: string, inner: string): ScheduleExpression {
  const parts = inner.trim().split(/\s+/);
  if (parts.length !== 2) return fail('rate(…) needs a value and a unit, e.g. rate(5 minutes)');
  const [text = '', unitText = ''] = parts;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    return fail(`rate(…) value "${text}" is not a whole number of at least 1`);
  }
  const unit = RATE_UNITS[unitText];
  if (!unit) return fail(`rate(…) unit "${unitText}" is not minute(s), hour(s) or day(s)`);
  // EventBridge: singular for 1, plural above.
  if (unit.one && value !== 1)
    return fail(`rate(…) unit "${unitText}" is for a value of 1: write rate(${value} ${unitText}s)`);
  if (!unit.one && value === 1)
    return fail(`rate(…) unit "${unitText}" needs a value above 1: write rate(1 ${unitText.slice(0, -1)})`);
  return { kind: 'rate', expression, value, unit: unit.unit, seconds: value * unit.seconds };
}

function parseAt(inner: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(inner);
  const [year, month, day, hour, minute, second] = (match?.slice(1) ?? []).map(Number);
  const wall = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day, hour, minute, second));
  // Date.UTC rolls 30 February over into March: a real date reads back the same.
  if (!match || Number.isNaN(wall.getTime()) || wall.toISOString().slice(0, 19) !== inner) {
    return fail(`at(…) "${inner}" is not a date and time yyyy-mm-ddThh:mm:ss`);
  }
  return inner;
}

function parseCron(inner: string): CronFields {
  const parts = inner.trim().split(/\s+/);
  if (parts.length !== 6) {
    return fail(
      `cron(…) has ${parts.length} fields, EventBridge needs 6: minutes hours day-of-month month day-of-week year`,
    );
  }
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = parts;
  const fields: CronFields = { minutes, hours, dayOfMonth, month, dayOfWeek, year };
  listValues(RULES.minutes, minutes);
  listValues(RULES.hours, hours);
  if (dayOfMonth !== '?') checkDayOfMonth(dayOfMonth);
  listValues(RULES.month, month);
  if (dayOfWeek !== '?') checkDayOfWeek(dayOfWeek);
  listValues(RULES.year, year);
  if (dayOfMonth === '?' && dayOfWeek === '?')
    fail('day-of-month and day-of-week are both "?": only one of them may be');
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    fail(`day-of-month "${dayOfMonth}" and day-of-week "${dayOfWeek}" are both set: one of them must be "?"`);
  }
  return fields;
}

/** The values a field of `*`, `,`, `-` and `/` selects, sorted (throws on anything else). */
function listValues(rule: FieldRule, field: string): number[] {
  if (field === '?') fail(`${rule.name} "?" is not allowed: "?" is for day-of-month or day-of-week`);
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(item);
    if (!match) return fail(`${rule.name} "${item}" is not ${rule.accepts}`);
    const [, from = '', to, stepText] = match;
    if (from === '*' && to !== undefined) return fail(`${rule.name} "${item}" is not ${rule.accepts}`);
    const low = from === '*' ? rule.min : value(rule, from);
    // Quartz: "5/15" is 5, 20, 35, 50: from 5 to the end of the field.
    const high = to !== undefined ? value(rule, to) : from === '*' || stepText !== undefined ? rule.max : low;
    if (low > high) fail(`${rule.name} "${item}" is a range from high to low`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (stepText !== undefined && rule === RULES.dayOfWeek) {
      fail(`day-of-week "${field}" has an increment: "/" is not allowed in day-of-week`);
    }
    if (step === 0) fail(`${rule.name} "${item}" has an increment of 0`);
    if (step > rule.maxStep) fail(`${rule.name} "${item}" has an increment above ${rule.maxStep}`);
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function value(rule: FieldRule, token: string): number {
  const named = rule.names?.indexOf(token.toUpperCase()) ?? -1;
  const number = named >= 0 ? named + 1 : /^\d+$/.test(token) ? Number(token) : Number.NaN;
  if (!(number >= rule.min && number <= rule.max)) fail(`${rule.name} "${token}" is not ${rule.accepts}`);
  return number;
}

function checkDayOfMonth(field: string): void {
  const upper = field.toUpperCase();
  if (upper === 'L' || upper === 'LW') return;
  const weekday = /^(\d+)W$/.exec(upper);
  if (weekday) value(RULES.dayOfMonth, weekday[1] ?? '');
  else listValues(RULES.dayOfMonth, field);
}

function checkDayOfWeek(field: string): void {
  const upper = field.toUpperCase();
  if (upper === 'L') return;
  if (upper.includes('#')) {
    const match = /^([A-Z0-9]+)#(\d+)$/.exec(upper);
    if (!match) {
      if (field.includes(',')) fail(`day-of-week "${field}" uses "#": it must then be a single expression`);
      fail(`day-of-week "${field}" is not 1-7 or SUN-SAT`);
    }
    value(RULES.dayOfWeek, match[1] ?? '');
    const nth = Number(match[2]);
    if (nth < 1 || nth > 5) fail(`day-of-week "${field}" asks for a ${nth}th weekday: the number after "#" is 1-5`);
    return;
  }
  const last = /^([A-Z0-9]+)L$/.exec(upper);
  if (last) value(RULES.dayOfWeek, last[1] ?? '');
  else listValues(RULES.dayOfWeek, field);
}

// ---------------------------------------------------------------------------------------------
// Translation to croner, which then runs in UTC on wall-clock time

/** croner's seven-field pattern (seconds first) for EventBridge's six, meaning the same days and times. */
function cronerPattern(fields: CronFields, time = { minutes: fields.minutes, hours: fields.hours }): string {
  const ranges = (rule: FieldRule, field: string) =>
    field
      .toUpperCase()
      .split(',')
      // croner reads "5/15" its own way: spell Quartz's meaning out as a range.
      .map((item) => item.replace(/^([A-Z0-9]+)\/(\d+)$/, `$1-${rule.max}/$2`))
      .join(',');
  const dayOfWeek = fields.dayOfWeek
    .toUpperCase()
    // Quartz's "L" alone is the last day of the week (Saturday); "6L" is the last Friday of the month.
    .replace(/^L$/, '7')
    .replace(/^([A-Z0-9]+)L$/, '$1#L');
  return [
    '0',
    ranges(RULES.minutes, time.minutes),
    ranges(RULES.hours, time.hours),
    // One of the two is "?" (any): with croner's AND of the two, the other one decides.
    fields.dayOfMonth === '?' ? '*' : ranges(RULES.dayOfMonth, fields.dayOfMonth),
    ranges(RULES.month, fields.month),
    dayOfWeek === '?' ? '*' : dayOfWeek,
    ranges(RULES.year, fields.year),
  ].join(' ');
}

function wallClockCron(pattern: string): Cron {
  return new Cron(pattern, { timezone: 'UTC', mode: '7-part', alternativeWeekdays: true, domAndDow: true });
}

// ---------------------------------------------------------------------------------------------
// Run times

export interface NextRunsOptions {
  timezone: string;
  after: Date;
  count: number;
  /** EventBridge's StartDate: a rate(…) runs from it, a cron(…) not before it. at(…) ignores it. */
  start?: Date;
  /** EventBridge's EndDate: nothing runs after it. at(…) ignores it. */
  end?: Date;
}

/** The next `count` firing times strictly after `after`, in `timezone`, within [start, end]. */
export function nextRuns(expression: string, options: NextRunsOptions): Date[] {
  const parsed = parseScheduleExpression(expression);
  checkTimeZone(options.timezone);
  if (options.count <= 0) return [];
  if (parsed.kind === 'rate') return rateRuns(parsed.seconds * 1000, options);
  if (parsed.kind === 'at') {
    const instant = instantAt(Date.parse(`${parsed.localTime}Z`), options.timezone);
    return instant !== undefined && instant > options.after.getTime() ? [new Date(instant)] : [];
  }
  return cronRuns(parsed.fields, options);
}

function rateRuns(periodMs: number, { after, count, start, end }: NextRunsOptions): Date[] {
  // EventBridge starts a rate at its StartDate, or at once; locally, "at once" is `after`.
  const anchor = (start ?? after).getTime();
  const afterMs = after.getTime();
  const first = afterMs < anchor ? 0 : Math.floor((afterMs - anchor) / periodMs) + 1;
  const runs: Date[] = [];
  for (let k = first; runs.length < count; k++) {
    const run = anchor + k * periodMs;
    if (end && run > end.getTime()) break;
    runs.push(new Date(run));
  }
  return runs;
}

function cronRuns(fields: CronFields, { timezone, after, count, start, end }: NextRunsOptions): Date[] {
  // Strictly after `after`, and at or after `start`.
  const floor = start && start.getTime() > after.getTime() ? start.getTime() - 1 : after.getTime();
  const cron = wallClockCron(cronerPattern(fields));
  // After the clocks went back, a wall time a little behind `floor`'s may still be ahead of it.
  let wall = wallClock(floor, timezone) - repeatedMs(floor, timezone) - 1;
  const runs: Date[] = [];
  while (runs.length < count) {
    const next = cron.nextRun(new Date(wall));
    if (!next) break;
    wall = next.getTime();
    const instant = instantAt(wall, timezone);
    if (instant === undefined || instant <= floor) continue;
    if (end && instant > end.getTime()) break;
    runs.push(new Date(instant));
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Longest gap

/** How far ahead longestInterval looks: at least a year and a bit (both clock changes), and twice
 *  the longest gap seen (room for a longer one), up to eight years (two leap days, a year field). */
const SHORTEST_LOOK_DAYS = 400;
const LONGEST_LOOK_DAYS = 8 * 366;

/**
 * The longest gap between two firings, in seconds (for the "schedule has not succeeded" alert),
 * daylight saving included, looking ahead from `from` (a year or more, eight at most). Infinity for
 * what fires at most once in that time (at(…), a cron(…) whose years end).
 */
export function longestInterval(expression: string, timezone: string, from: Date = new Date()): number {
  const parsed = parseScheduleExpression(expression);
  checkTimeZone(timezone);
  if (parsed.kind === 'rate') return parsed.seconds;
  if (parsed.kind === 'at') return Number.POSITIVE_INFINITY;
  const { fields } = parsed;
  // The times of day in ms since midnight (wall clock), and the widest gap between two of them.
  const times = listValues(RULES.hours, fields.hours).flatMap((hour) =>
    listValues(RULES.minutes, fields.minutes).map((minute) => (hour * 60 + minute) * MINUTE_MS),
  );
  const firstTime = times[0] ?? 0;
  const lastTime = times.at(-1) ?? 0;
  const withinDay = widestGap(times);

  // The days it fires on: croner enumerates them at midnight, wall clock.
  const days = wallClockCron(cronerPattern(fields, { minutes: '0', hours: '0' }));
  const fromWall = wallClock(from.getTime(), timezone);
  let longest = 0;
  let previous: number | undefined;
  for (let day = days.nextRun(new Date(fromWall - DAY_MS)); day; day = days.nextRun(day)) {
    const dayStart = day.getTime();
    const looked = dayStart - fromWall;
    const enough = longest > 0 && looked > SHORTEST_LOOK_DAYS * DAY_MS && looked > 2 * longest;
    if (enough || looked > LONGEST_LOOK_DAYS * DAY_MS) break;
    const offset = steadyOffsetMs(dayStart, timezone);
    let first: number | undefined;
    let last: number | undefined;
    if (offset === undefined) {
      // The clocks change around this day: each run as EventBridge fires it (skipped in the gap,
      // once in the repeated hour).
      const runs = times.flatMap((time) => instantAt(dayStart + time, timezone) ?? []);
      [first, last] = [runs[0], runs.at(-1)];
      longest = Math.max(longest, widestGap(runs));
    } else {
      [first, last] = [dayStart + firstTime - offset, dayStart + lastTime - offset];
      longest = Math.max(longest, withinDay);
    }
    if (first === undefined) continue;
    if (previous !== undefined) longest = Math.max(longest, first - previous);
    previous = last;
  }
  return longest === 0 ? Number.POSITIVE_INFINITY : longest / 1000;
}

function widestGap(sorted: readonly number[]): number {
  let widest = 0;
  for (let i = 1; i < sorted.length; i++) widest = Math.max(widest, (sorted[i] ?? 0) - (sorted[i - 1] ?? 0));
  return widest;
}

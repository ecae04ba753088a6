// Wall-clock time in an IANA time zone, as plain numbers: a "wall" time is the local date and time
// written as if it were UTC (Date.UTC of its fields), so calendar rules can run on it without any
// time zone, and is turned into a real instant only at the end.
import { ScheduleExpressionError } from './errors.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** How far `zone`'s clocks are ahead of UTC at `instant` (ms since the epoch), in ms. */
export function offsetMs(instant: number, zone: string): number {
  const field: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(instant)) field[part.type] = Number(part.value);
  const wall = Date.UTC(field.year ?? 0, (field.month ?? 1) - 1, field.day, field.hour, field.minute, field.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The wall-clock time in `zone` at `instant`. */
export function wallClock(instant: number, zone: string): number {
  return instant + offsetMs(instant, zone);
}

/**
 * The instant at which `zone`'s clocks show `wall`: the first of the two when the clocks went back
 * (the hour that happens twice), undefined when they jumped over it (the hour that never happens).
 * That is what EventBridge Scheduler does: a time in the gap is skipped, a repeated time runs once.
 */
export function instantAt(wall: number, zone: string): number | undefined {
  // The offsets in force a day either side: a transition, if any, lies between them.
  const offsets = new Set([offsetMs(wall - DAY_MS, zone), offsetMs(wall + DAY_MS, zone)]);
  let first: number | undefined;
  for (const offset of offsets) {
    const instant = wall - offset;
    if (wallClock(instant, zone) === wall && (first === undefined || instant < first)) first = instant;
  }
  return first;
}

/** How far the clocks went back during the day before `instant` (0 if they did not): the wall times
 *  that far behind `wallClock(instant)` may still be ahead of `instant`. */
export function repeatedMs(instant: number, zone: string): number {
  return Math.max(0, offsetMs(instant - DAY_MS, zone) - offsetMs(instant, zone));
}

/** `zone`'s offset all through the wall day that starts at `dayStart`, or undefined if it may change
 *  that day (a wide net: local midnight is within 14 hours of UTC's midnight). */
export function steadyOffsetMs(dayStart: number, zone: string): number | undefined {
  const before = offsetMs(dayStart - 14 * HOUR_MS, zone);
  return before === offsetMs(dayStart + DAY_MS + 14 * HOUR_MS, zone) ? before : undefined;
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
let canonicalZones: Map<string, string> | undefined;

/** Throws ScheduleExpressionError unless `timezone` is an IANA time zone name, spelt as IANA does. */
export function checkTimeZone(timezone: string): void {
  const refuse = (hint = ' (e.g. "UTC", "Europe/Berlin", "America/New_York")') =>
    new ScheduleExpressionError(`time zone "${timezone}" is not an IANA time zone${hint}`);
  // Intl also takes offsets such as "+05:30", which EventBridge does not.
  if (!ZONE_NAME.test(timezone)) throw refuse();
  try {
    formatter(timezone);
  } catch {
    throw refuse();
  }
  // Intl ignores case; EventBridge's names are case-sensitive.
  canonicalZones ??= new Map(Intl.supportedValuesOf('timeZone').map((zone) => [zone.toLowerCase(), zone]));
  const spelt = canonicalZones.get(timezone.toLowerCase()) ?? (timezone.toLowerCase() === 'utc' ? 'UTC' : timezone);
  if (spelt !== timezone) throw refuse(`: did you mean "${spelt}"?`);
}

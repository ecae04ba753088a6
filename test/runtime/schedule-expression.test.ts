// EventBridge Scheduler expressions: parsed, validated and evaluated as AWS documents them. The
// expected times are worked out by hand from AWS's meanings (calendar facts checked against Python's
// zoneinfo), not from this module, so a wrong translation to the cron library shows up here.
import { describe, expect, it } from 'vitest';
import { ScheduleExpressionError } from '../../templates/worker/src/runtime/errors.ts';
import {
  checkTimeZone,
  longestInterval,
  nextRuns,
  parseScheduleExpression,
} from '../../templates/worker/src/runtime/schedule-expression.ts';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString().replace(':00.000Z', 'Z'));
const at = (text: string) => new Date(text);

/** Wednesday 4 March 2026, noon UTC: the "now" of most rows. */
const WEDNESDAY = '2026-03-04T12:00:00Z';

describe('AWS documented cron examples, in UTC', () => {
  // [expression, AWS's meaning, after, next runs]
  const table: [string, string, string, string[]][] = [
    [
      'cron(0 10 * * ? *)',
      '10:00 every day',
      WEDNESDAY,
      ['2026-03-05T10:00Z', '2026-03-06T10:00Z', '2026-03-07T10:00Z'],
    ],
    [
      'cron(15 12 * * ? *)',
      '12:15 every day',
      WEDNESDAY,
      ['2026-03-04T12:15Z', '2026-03-05T12:15Z', '2026-03-06T12:15Z'],
    ],
    [
      'cron(0 18 ? * MON-FRI *)',
      '18:00 Monday to Friday',
      WEDNESDAY,
      ['2026-03-04T18:00Z', '2026-03-05T18:00Z', '2026-03-06T18:00Z', '2026-03-09T18:00Z'],
    ],
    [
      'cron(0 8 1 * ? *)',
      '08:00 on the first day of every month',
      WEDNESDAY,
      ['2026-04-01T08:00Z', '2026-05-01T08:00Z', '2026-06-01T08:00Z'],
    ],
    [
      'cron(0/15 * * * ? *)',
      'every 15 minutes',
      WEDNESDAY,
      ['2026-03-04T12:15Z', '2026-03-04T12:30Z', '2026-03-04T12:45Z', '2026-03-04T13:00Z'],
    ],
    [
      'cron(0/10 * ? * MON-FRI *)',
      'every 10 minutes Monday to Friday',
      '2026-03-06T23:45:00Z',
      ['2026-03-06T23:50Z', '2026-03-09T00:00Z', '2026-03-09T00:10Z'],
    ],
    [
      'cron(0/5 8-17 ? * MON-FRI *)',
      'every 5 minutes Monday to Friday, 08:00 to 17:55',
      '2026-03-06T17:50:00Z',
      ['2026-03-06T17:55Z', '2026-03-09T08:00Z', '2026-03-09T08:05Z'],
    ],
    [
      'cron(0 9 ? * 2#1 *)',
      '09:00 on the first Monday of each month',
      WEDNESDAY,
      ['2026-04-06T09:00Z', '2026-05-04T09:00Z', '2026-06-01T09:00Z'],
    ],
    // L, W, #, names, day-of-week numbers and years.
    [
      'cron(0 12 L * ? *)',
      'noon on the last day of the month',
      WEDNESDAY,
      ['2026-03-31T12:00Z', '2026-04-30T12:00Z', '2026-05-31T12:00Z'],
    ],
    [
      'cron(0 12 L 2 ? *)',
      'noon on the last day of February (leap year)',
      '2027-06-01T00:00:00Z',
      ['2028-02-29T12:00Z'],
    ],
    [
      'cron(0 10 ? * 6L *)',
      '10:00 on the last Friday of the month',
      WEDNESDAY,
      ['2026-03-27T10:00Z', '2026-04-24T10:00Z', '2026-05-29T10:00Z'],
    ],
    [
      'cron(0 10 ? * L *)',
      '10:00 on the last day of the week (Saturday)',
      WEDNESDAY,
      ['2026-03-07T10:00Z', '2026-03-14T10:00Z'],
    ],
    [
      'cron(0 9 15W * ? *)',
      '09:00 on the weekday nearest the 15th (15 March 2026 is a Sunday)',
      WEDNESDAY,
      ['2026-03-16T09:00Z', '2026-04-15T09:00Z', '2026-05-15T09:00Z'],
    ],
    [
      'cron(0 9 1W * ? *)',
      '09:00 on the weekday nearest the 1st, not crossing into July (1 August 2026 is a Saturday)',
      '2026-07-15T00:00:00Z',
      ['2026-08-03T09:00Z', '2026-09-01T09:00Z', '2026-10-01T09:00Z'],
    ],
    [
      'cron(0 9 LW * ? *)',
      '09:00 on the last weekday of the month (31 May 2026 is a Sunday)',
      '2026-05-01T00:00:00Z',
      ['2026-05-29T09:00Z', '2026-06-30T09:00Z', '2026-07-31T09:00Z'],
    ],
    [
      'cron(0 9 ? * 6#5 *)',
      '09:00 on the fifth Friday, in the months that have one',
      WEDNESDAY,
      ['2026-05-29T09:00Z', '2026-07-31T09:00Z'],
    ],
    [
      'cron(0 12 ? * 1 *)',
      'noon on Sundays: 1 is Sunday, not Monday',
      WEDNESDAY,
      ['2026-03-08T12:00Z', '2026-03-15T12:00Z'],
    ],
    ['cron(0 12 ? * 7 *)', 'noon on Saturdays: 7 is Saturday', WEDNESDAY, ['2026-03-07T12:00Z', '2026-03-14T12:00Z']],
    [
      'cron(0 12 ? * SUN,SAT *)',
      'noon at weekends',
      WEDNESDAY,
      ['2026-03-07T12:00Z', '2026-03-08T12:00Z', '2026-03-14T12:00Z'],
    ],
    [
      'cron(0 0 1 JAN,JUL ? *)',
      'midnight on 1 January and 1 July',
      WEDNESDAY,
      ['2026-07-01T00:00Z', '2027-01-01T00:00Z'],
    ],
    [
      'cron(5/20 3 * * ? *)',
      'minutes 5, 25 and 45 past 03:00',
      WEDNESDAY,
      ['2026-03-05T03:05Z', '2026-03-05T03:25Z', '2026-03-05T03:45Z', '2026-03-06T03:05Z'],
    ],
    [
      'cron(0 0 1 1 ? 2027/2)',
      'New Year, every other year from 2027',
      WEDNESDAY,
      ['2027-01-01T00:00Z', '2029-01-01T00:00Z', '2031-01-01T00:00Z'],
    ],
    [
      'cron(30 6 * * ? 2026)',
      'only in 2026: the list ends with the year',
      '2026-12-30T12:00:00Z',
      ['2026-12-31T06:30Z'],
    ],
    ['cron(0 10 ? * 6L 2022-2023)', 'only in years long gone: never again', WEDNESDAY, []],
  ];

  it.each(table)('%s (%s)', (expression, _meaning, after, expected) => {
    expect(iso(nextRuns(expression, { timezone: 'UTC', after: at(after), count: expected.length }))).toEqual(expected);
  });

  it('ends the list where the year field ends', () => {
    expect(
      nextRuns('cron(30 6 * * ? 2026)', { timezone: 'UTC', after: at('2026-12-30T12:00:00Z'), count: 5 }),
    ).toHaveLength(1);
  });

  it('accepts lower-case names and more than one space between fields', () => {
    expect(iso(nextRuns('cron(0  18 ?  * mon-fri *)', { timezone: 'UTC', after: at(WEDNESDAY), count: 1 }))).toEqual([
      '2026-03-04T18:00Z',
    ]);
  });

  it('keeps to [start, end], both included', () => {
    const runs = nextRuns('cron(0 10 * * ? *)', {
      timezone: 'UTC',
      after: at(WEDNESDAY),
      count: 5,
      start: at('2026-03-10T00:00:00Z'),
      end: at('2026-03-12T10:00:00Z'),
    });
    expect(iso(runs)).toEqual(['2026-03-10T10:00Z', '2026-03-11T10:00Z', '2026-03-12T10:00Z']);
  });

  it('returns nothing for a count of 0', () => {
    expect(nextRuns('cron(0 10 * * ? *)', { timezone: 'UTC', after: at(WEDNESDAY), count: 0 })).toEqual([]);
  });
});

describe('time zones, including 30- and 45-minute offsets', () => {
  // 09:00 local every day, after Wednesday 4 March 2026 12:00 UTC.
  const table: [string, string][] = [
    ['UTC', '2026-03-05T09:00Z'],
    ['Asia/Kolkata', '2026-03-05T03:30Z'],
    ['Asia/Kathmandu', '2026-03-05T03:15Z'],
    ['Australia/Adelaide', '2026-03-04T22:30Z'],
    ['America/St_Johns', '2026-03-04T12:30Z'],
    ['Pacific/Chatham', '2026-03-04T19:15Z'],
    ['Pacific/Kiritimati', '2026-03-04T19:00Z'],
    ['America/Sao_Paulo', '2026-03-05T12:00Z'],
    ['Asia/Tokyo', '2026-03-05T00:00Z'],
  ];
  it.each(table)('cron(0 9 * * ? *) in %s next runs at %s', (timezone, expected) => {
    expect(iso(nextRuns('cron(0 9 * * ? *)', { timezone, after: at(WEDNESDAY), count: 1 }))).toEqual([expected]);
  });

  it('accepts IANA zones and refuses what EventBridge would not', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns', 'US/Eastern']) {
      expect(() => checkTimeZone(zone), zone).not.toThrow();
    }
    for (const zone of ['Mars/Olympus', '+05:30', 'america/new_york', '', 'Europe/']) {
      expect(() => checkTimeZone(zone), zone).toThrow(ScheduleExpressionError);
    }
    expect(() => checkTimeZone('Mars/Olympus')).toThrow('time zone "Mars/Olympus" is not an IANA time zone');
  });

  it('refuses an unknown zone in nextRuns and longestInterval too', () => {
    expect(() => nextRuns('cron(0 9 * * ? *)', { timezone: 'Mars/Olympus', after: at(WEDNESDAY), count: 1 })).toThrow(
      ScheduleExpressionError,
    );
    expect(() => longestInterval('cron(0 9 * * ? *)', 'Mars/Olympus')).toThrow(ScheduleExpressionError);
  });
});

describe('daylight saving time, as EventBridge Scheduler does it: a time in the gap is skipped, a repeated time runs once', () => {
  it('America/New_York, spring forward on 8 March 2026: 02:30 does not exist that day', () => {
    const runs = nextRuns('cron(30 2 * * ? *)', {
      timezone: 'America/New_York',
      after: at('2026-03-06T12:00:00Z'),
      count: 3,
    });
    expect(iso(runs)).toEqual(['2026-03-07T07:30Z', '2026-03-09T06:30Z', '2026-03-10T06:30Z']);
  });

  it('America/New_York, spring forward: every 30 minutes goes from 01:30 EST to 03:00 EDT', () => {
    const runs = nextRuns('cron(0/30 * * * ? *)', {
      timezone: 'America/New_York',
      after: at('2026-03-08T06:10:00Z'),
      count: 3,
    });
    expect(iso(runs)).toEqual(['2026-03-08T06:30Z', '2026-03-08T07:00Z', '2026-03-08T07:30Z']);
  });

  it('America/New_York, fall back on 1 November 2026: 01:30 happens twice and runs once, the first time', () => {
    const runs = nextRuns('cron(30 1 * * ? *)', {
      timezone: 'America/New_York',
      after: at('2026-10-31T12:00:00Z'),
      count: 2,
    });
    expect(iso(runs)).toEqual(['2026-11-01T05:30Z', '2026-11-02T06:30Z']);
  });

  it('America/New_York, fall back: every 30 minutes does not repeat the hour', () => {
    const runs = nextRuns('cron(0/30 * * * ? *)', {
      timezone: 'America/New_York',
      after: at('2026-11-01T04:50:00Z'),
      count: 4,
    });
    expect(iso(runs)).toEqual(['2026-11-01T05:00Z', '2026-11-01T05:30Z', '2026-11-01T07:00Z', '2026-11-01T07:30Z']);
  });

  it('America/New_York, fall back: from inside the repeated hour, its times are already past', () => {
    const runs = nextRuns('cron(0/30 * * * ? *)', {
      timezone: 'America/New_York',
      after: at('2026-11-01T06:10:00Z'),
      count: 1,
    });
    expect(iso(runs)).toEqual(['2026-11-01T07:00Z']);
  });

  it('Europe/Berlin, spring forward on 29 March 2026: 02:30 is skipped', () => {
    const runs = nextRuns('cron(30 2 * * ? *)', {
      timezone: 'Europe/Berlin',
      after: at('2026-03-27T12:00:00Z'),
      count: 2,
    });
    expect(iso(runs)).toEqual(['2026-03-28T01:30Z', '2026-03-30T00:30Z']);
  });

  it('Europe/Berlin, fall back on 25 October 2026: 02:30 runs once, in summer time', () => {
    const runs = nextRuns('cron(30 2 * * ? *)', {
      timezone: 'Europe/Berlin',
      after: at('2026-10-24T12:00:00Z'),
      count: 2,
    });
    expect(iso(runs)).toEqual(['2026-10-25T00:30Z', '2026-10-26T01:30Z']);
  });

  it('rate(1 day) is 24 hours, whatever the clock does', () => {
    const runs = nextRuns('rate(1 day)', {
      timezone: 'America/New_York',
      after: at('2026-03-07T11:00:00Z'),
      start: at('2026-03-07T12:00:00Z'),
      count: 3,
    });
    expect(iso(runs)).toEqual(['2026-03-07T12:00Z', '2026-03-08T12:00Z', '2026-03-09T12:00Z']);
  });
});

describe('rate and at', () => {
  it('rate(…) runs at start and every period after it', () => {
    const start = at('2026-03-04T12:02:00Z');
    expect(iso(nextRuns('rate(5 minutes)', { timezone: 'UTC', after: at(WEDNESDAY), start, count: 3 }))).toEqual([
      '2026-03-04T12:02Z',
      '2026-03-04T12:07Z',
      '2026-03-04T12:12Z',
    ]);
    // Strictly after `after`, still on start's beat.
    expect(
      iso(nextRuns('rate(2 hours)', { timezone: 'UTC', after: at('2026-03-04T16:02:00Z'), start, count: 2 })),
    ).toEqual(['2026-03-04T18:02Z', '2026-03-04T20:02Z']);
    expect(
      iso(
        nextRuns('rate(1 minute)', {
          timezone: 'UTC',
          after: at(WEDNESDAY),
          start,
          end: at('2026-03-04T12:03:00Z'),
          count: 5,
        }),
      ),
    ).toEqual(['2026-03-04T12:02Z', '2026-03-04T12:03Z']);
  });

  it('rate(…) without a start runs every period from `after`', () => {
    expect(iso(nextRuns('rate(1 hour)', { timezone: 'UTC', after: at(WEDNESDAY), count: 2 }))).toEqual([
      '2026-03-04T13:00Z',
      '2026-03-04T14:00Z',
    ]);
  });

  it('at(…) runs once, at that local time in the time zone', () => {
    expect(
      iso(nextRuns('at(2026-05-01T10:00:00)', { timezone: 'Europe/Berlin', after: at(WEDNESDAY), count: 3 })),
    ).toEqual(['2026-05-01T08:00Z']);
    expect(
      iso(nextRuns('at(2026-05-01T10:00:00)', { timezone: 'Asia/Kathmandu', after: at(WEDNESDAY), count: 3 })),
    ).toEqual(['2026-05-01T04:15Z']);
    expect(nextRuns('at(2026-01-01T10:00:00)', { timezone: 'UTC', after: at(WEDNESDAY), count: 3 })).toEqual([]);
  });

  it('parses each kind', () => {
    expect(parseScheduleExpression('rate(15 minutes)')).toMatchObject({
      kind: 'rate',
      value: 15,
      unit: 'minutes',
      seconds: 900,
    });
    expect(parseScheduleExpression('rate(1 day)')).toMatchObject({
      kind: 'rate',
      value: 1,
      unit: 'days',
      seconds: 86_400,
    });
    expect(parseScheduleExpression('rate(100000 hours)')).toMatchObject({ kind: 'rate', seconds: 360_000_000 });
    expect(parseScheduleExpression('at(2026-05-01T10:00:00)')).toMatchObject({ kind: 'at' });
    expect(parseScheduleExpression('cron(0 9 ? * 2#1 *)')).toMatchObject({
      kind: 'cron',
      fields: { minutes: '0', hours: '9', dayOfMonth: '?', month: '*', dayOfWeek: '2#1', year: '*' },
    });
  });
});

describe('expressions EventBridge rejects, each one sentence naming the field', () => {
  const table: [string, string][] = [
    ['cron(0 10 * * 1 *)', 'day-of-month "*" and day-of-week "1" are both set: one of them must be "?"'],
    ['cron(0 10 * * * *)', 'day-of-month "*" and day-of-week "*" are both set: one of them must be "?"'],
    ['cron(0 10 ? * ? *)', 'day-of-month and day-of-week are both "?": only one of them may be'],
    ['cron(0 10 ? * 0 *)', 'day-of-week "0" is not 1-7 or SUN-SAT'],
    ['cron(0 10 ? * 8 *)', 'day-of-week "8" is not 1-7 or SUN-SAT'],
    ['cron(0 10 ? * MON-FRY *)', 'day-of-week "FRY" is not 1-7 or SUN-SAT'],
    ['cron(60 10 * * ? *)', 'minutes "60" is not 0-59'],
    ['cron(0 24 * * ? *)', 'hours "24" is not 0-23'],
    ['cron(0 10 32 * ? *)', 'day-of-month "32" is not 1-31'],
    ['cron(0 10 0 * ? *)', 'day-of-month "0" is not 1-31'],
    ['cron(0 10 * 13 ? *)', 'month "13" is not 1-12 or JAN-DEC'],
    ['cron(0 10 * JANUARY ? *)', 'month "JANUARY" is not 1-12 or JAN-DEC'],
    ['cron(0 10 * * ? 1969)', 'year "1969" is not 1970-2199'],
    ['cron(0 10 * * ? 2200)', 'year "2200" is not 1970-2199'],
    ['cron(0 17-9 * * ? *)', 'hours "17-9" is a range from high to low'],
    ['cron(0/0 * * * ? *)', 'minutes "0/0" has an increment of 0'],
    ['cron(*/90 * * * ? *)', 'minutes "*/90" has an increment above 59'],
    ['cron(? 10 * * ? *)', 'minutes "?" is not allowed: "?" is for day-of-month or day-of-week'],
    ['cron(L 10 * * ? *)', 'minutes "L" is not 0-59'],
    ['cron(0 10 * * ? L)', 'year "L" is not 1970-2199'],
    ['cron(0 10 1-5W * ? *)', 'day-of-month "5W" is not 1-31'],
    ['cron(0 10 ? * 2#1,6#3 *)', 'day-of-week "2#1,6#3" uses "#": it must then be a single expression'],
    ['cron(0 10 ? * 2#6 *)', 'day-of-week "2#6" asks for a 6th weekday: the number after "#" is 1-5'],
    ['cron(0 10 ? * 1/2 *)', 'day-of-week "1/2" has an increment: "/" is not allowed in day-of-week'],
    [
      'cron(0 10 * * ?)',
      'cron(…) has 5 fields, EventBridge needs 6: minutes hours day-of-month month day-of-week year',
    ],
    [
      'cron(0 0 10 * * ? *)',
      'cron(…) has 7 fields, EventBridge needs 6: minutes hours day-of-month month day-of-week year',
    ],
    [
      '0 10 * * ? *',
      `"0 10 * * ? *" is not cron(…), rate(…) or at(…): EventBridge's cron is six fields inside cron(…), minutes first and year last, with ? in day-of-month or day-of-week, e.g. cron(0 2 * * ? *) for 02:00 every day`,
    ],
    [
      '0 2 * * 1',
      `"0 2 * * 1" is not cron(…), rate(…) or at(…): EventBridge's cron is six fields inside cron(…), minutes first and year last, with ? in day-of-month or day-of-week, e.g. cron(0 2 * * ? *) for 02:00 every day`,
    ],
    ['daily', '"daily" is not cron(…), rate(…) or at(…)'],
    ['rate(1 minutes)', 'rate(…) unit "minutes" needs a value above 1: write rate(1 minute)'],
    ['rate(5 minute)', 'rate(…) unit "minute" is for a value of 1: write rate(5 minutes)'],
    ['rate(0 minutes)', 'rate(…) value "0" is not a whole number of at least 1'],
    ['rate(-5 minutes)', 'rate(…) value "-5" is not a whole number of at least 1'],
    ['rate(1.5 hours)', 'rate(…) value "1.5" is not a whole number of at least 1'],
    ['rate(2 weeks)', 'rate(…) unit "weeks" is not minute(s), hour(s) or day(s)'],
    ['rate(5)', 'rate(…) needs a value and a unit, e.g. rate(5 minutes)'],
    ['at(2026-02-30T10:00:00)', 'at(…) "2026-02-30T10:00:00" is not a date and time yyyy-mm-ddThh:mm:ss'],
    ['at(2026-05-01 10:00:00)', 'at(…) "2026-05-01 10:00:00" is not a date and time yyyy-mm-ddThh:mm:ss'],
  ];

  it.each(table)('%s: %s', (expression, message) => {
    let thrown: unknown;
    try {
      parseScheduleExpression(expression);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScheduleExpressionError);
    expect((thrown as Error).message).toBe(message);
  });

  it('nextRuns and longestInterval refuse the same expressions', () => {
    expect(() => nextRuns('rate(0 minutes)', { timezone: 'UTC', after: at(WEDNESDAY), count: 1 })).toThrow(
      ScheduleExpressionError,
    );
    expect(() => longestInterval('cron(0 10 * * 1 *)', 'UTC')).toThrow(ScheduleExpressionError);
  });
});

describe('longestInterval', () => {
  const from = at('2026-01-01T00:00:00Z');
  const table: [string, string, number][] = [
    ['rate(5 minutes)', 'UTC', 300],
    ['rate(1 hour)', 'UTC', 3_600],
    ['rate(2 days)', 'Asia/Kathmandu', 172_800],
    ['cron(0/15 * * * ? *)', 'UTC', 900],
    ['cron(0 10 * * ? *)', 'UTC', 86_400],
    ['cron(0 10 * * ? *)', 'Asia/Kolkata', 86_400],
    ['cron(0 18 ? * MON-FRI *)', 'UTC', 3 * 86_400],
    ['cron(0/5 8-17 ? * MON-FRI *)', 'UTC', (62 * 60 + 5) * 60],
    ['cron(0 8 1 * ? *)', 'UTC', 31 * 86_400],
    ['cron(0 0 29 2 ? *)', 'UTC', 1_461 * 86_400],
    // The 25-hour day when the clocks go back.
    ['cron(0 10 * * ? *)', 'America/New_York', 25 * 3_600],
    // 02:30 does not exist on the day the clocks go forward: 47 hours between two runs.
    ['cron(30 2 * * ? *)', 'America/New_York', 47 * 3_600],
    // Every 15 minutes does not repeat the hour the clocks go back: 01:45 EDT to 02:00 EST.
    ['cron(0/15 * * * ? *)', 'America/New_York', 75 * 60],
    ['cron(0/15 * * * ? *)', 'Europe/Berlin', 75 * 60],
  ];

  it.each(table)('%s in %s: %i s', (expression, timezone, seconds) => {
    expect(longestInterval(expression, timezone, from)).toBe(seconds);
  });

  it('is Infinity for what fires at most once', () => {
    expect(longestInterval('at(2026-05-01T10:00:00)', 'UTC', from)).toBe(Number.POSITIVE_INFINITY);
    expect(longestInterval('cron(0 10 1 1 ? 2026)', 'UTC', from)).toBe(Number.POSITIVE_INFINITY);
  });
});

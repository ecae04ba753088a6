// The Celery codec against golden messages made by real Python Celery 5.2 / kombu (DESIGN §5).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  type CeleryMessage,
  decodeMessage,
  type EncodeOptions,
  encodeMessage,
  SQS_MAX_BODY_BYTES,
} from '../../templates/worker/src/runtime/codec.ts';
import { DecodeError, PayloadTooLargeError } from '../../templates/worker/src/runtime/errors.ts';

interface Envelope {
  body: string;
  'content-encoding': string;
  'content-type': string;
  headers: Record<string, unknown> & { task: string; id: string; retries: number; eta: string | null };
  properties: Record<string, unknown> & { body_encoding: string | null };
}

interface Fixture {
  case: string;
  queue: string;
  body: string;
  decoded: {
    outer_base64: boolean;
    envelope: Envelope;
    inner_body: [unknown[], Record<string, unknown>, Record<string, unknown>];
  };
}

const FIXTURES = new URL('../fixtures/celery-sqs/', import.meta.url);
const fixtureFiles = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json'))
  .sort();

function loadFixture(file: string): Fixture {
  return JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Fixture;
}

const fromBase64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
const toBase64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** Strict: the text is canonical base64 (decoding and re-encoding gives it back). */
const isBase64 = (text: string): boolean => text.length > 0 && toBase64(fromBase64(text)) === text;

/** A valid, fully base64 message built from add_args.json's envelope, with changes applied. */
function poisonBody(change: (envelope: Envelope) => void): string {
  const envelope = structuredClone(loadFixture('add_args.json').decoded.envelope);
  change(envelope);
  return toBase64(JSON.stringify(envelope));
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, it returned');
}

function envelopeOf(body: string): Envelope {
  return JSON.parse(fromBase64(body)) as Envelope;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/;

describe('decodeMessage on the golden Celery messages', () => {
  it('finds the fixtures', () => {
    expect(fixtureFiles.length).toBeGreaterThan(0);
    expect(fixtureFiles).toContain('add_args.json');
  });

  it.each(fixtureFiles)('%s', (file) => {
    const fixture = loadFixture(file);
    const { envelope, inner_body } = fixture.decoded;
    const headers = envelope.headers;

    const message = decodeMessage(fixture.body);

    expect(message.task).toBe(headers.task);
    expect(message.id).toBe(headers.id);
    expect(message.args).toEqual(inner_body[0]);
    expect(message.kwargs).toEqual(inner_body[1]);
    expect(message.retries).toBe(headers.retries);
    if (headers.eta === null) {
      expect(message.eta).toBeNull();
    } else {
      expect(message.eta).toBeInstanceOf(Date);
      expect(message.eta?.getTime()).toBe(Date.parse(headers.eta));
    }
    expect(message.expires).toBeNull();
    expect(message.headers).toEqual(headers);
    expect(message.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });

  it('reads the countdown eta as the exact UTC instant Celery wrote', () => {
    const fixture = loadFixture('countdown_30s.json');
    expect(fixture.decoded.envelope.headers.eta).toBe('2026-11-28T18:52:23.775465+00:00');
    const message = decodeMessage(fixture.body);
    expect(message.eta?.getTime()).toBe(Date.UTC(2026, 10, 28, 18, 52, 23, 775));
  });

  it('reads the retry count', () => {
    expect(decodeMessage(loadFixture('retry_retries_2.json').body).retries).toBe(2);
  });

  it('reads a naive ISO time (no offset) as UTC, whatever the local time zone', () => {
    // In a UTC process, local time and UTC agree: use a zone where they do not.
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    onTestFinished(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    expect(new Date(2026, 10, 28).getTimezoneOffset()).not.toBe(0);
    const body = poisonBody((envelope) => {
      envelope.headers.eta = '2026-11-28T18:52:23.775465';
      envelope.headers.expires = '2026-11-29T00:00:00';
    });
    const message = decodeMessage(body);
    expect(message.eta?.toISOString()).toBe('2026-11-28T18:52:23.775Z');
    expect(message.expires?.toISOString()).toBe('2026-11-29T00:00:00.000Z');
  });

  it('honours a non-UTC offset', () => {
    const body = poisonBody((envelope) => {
      envelope.headers.eta = '2026-11-28T20:52:23+02:00';
    });
    expect(decodeMessage(body).eta?.toISOString()).toBe('2026-11-28T18:52:23.000Z');
  });
});

describe('encodeMessage', () => {
  const reference = loadFixture('add_args.json').decoded.envelope;
  const sortedKeys = (value: object): string[] => Object.keys(value).sort();

  it('produces both base64 layers by default', () => {
    const body = encodeMessage({ task: 'add', args: [1, 2], kwargs: { z: 3 }, queue: 'dev-add' });
    expect(isBase64(body)).toBe(true);
    expect(body.startsWith('{')).toBe(false);
    const envelope = envelopeOf(body);
    expect(isBase64(envelope.body)).toBe(true);
    expect(JSON.parse(fromBase64(envelope.body))).toEqual([
      [1, 2],
      { z: 3 },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('produces exactly the shape of a Celery message', () => {
    const body = encodeMessage({ task: 'app.tasks.add', args: [0, 1], queue: 'prod-add', id: 'the-id', retries: 1 });
    const envelope = envelopeOf(body);

    expect(sortedKeys(envelope)).toEqual(sortedKeys(reference));
    expect(sortedKeys(envelope.headers)).toEqual(sortedKeys(reference.headers));
    expect(sortedKeys(envelope.properties)).toEqual(sortedKeys(reference.properties));

    expect(envelope['content-type']).toBe('application/json');
    expect(envelope['content-encoding']).toBe('utf-8');
    expect(envelope.properties.delivery_info).toEqual({ exchange: '', routing_key: 'prod-add' });
    expect(envelope.properties.body_encoding).toBe('base64');
    expect(envelope.properties.delivery_mode).toBe(2);
    expect(envelope.properties.priority).toBe(0);
    expect(envelope.properties.correlation_id).toBe('the-id');

    expect(envelope.headers).toMatchObject({
      lang: 'ts',
      task: 'app.tasks.add',
      id: 'the-id',
      root_id: 'the-id',
      parent_id: null,
      retries: 1,
      eta: null,
      expires: null,
      group: null,
      timelimit: [null, null],
      ignore_result: false,
    });

    const [, , embed] = JSON.parse(fromBase64(envelope.body)) as [unknown, unknown, unknown];
    expect(embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });

  it('gives every message its own id when none is given', () => {
    const a = decodeMessage(encodeMessage({ task: 'add', queue: 'q' }));
    const b = decodeMessage(encodeMessage({ task: 'add', queue: 'q' }));
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.args).toEqual([]);
    expect(a.kwargs).toEqual({});
  });

  it('adds extra headers next to Celery’s own', () => {
    const body = encodeMessage({ task: 'add', queue: 'q', headers: { traceparent: '00-abc-def-01' } });
    const headers = envelopeOf(body).headers;
    expect(headers.traceparent).toBe('00-abc-def-01');
    expect(headers.lang).toBe('ts');
  });

  it('writes a plain JSON envelope with outerBase64: false', () => {
    const body = encodeMessage({ task: 'add', args: [4, 5], queue: 'dev-add', outerBase64: false });
    expect(body.startsWith('{')).toBe(true);
    const envelope = JSON.parse(body) as Envelope;
    expect(sortedKeys(envelope)).toEqual(sortedKeys(reference));
    expect(envelope.properties.body_encoding).toBe('base64');
    expect(JSON.parse(fromBase64(envelope.body))[0]).toEqual([4, 5]);
    expect(decodeMessage(body).args).toEqual([4, 5]);
  });

  it.each([true, false])('round-trips through decodeMessage (outerBase64: %s)', (outerBase64) => {
    const options: EncodeOptions = {
      task: 'app.tasks.resize',
      args: [1, 'two', { three: [3] }, null],
      kwargs: { width: 640, flag: true },
      queue: 'prod-images',
      id: '11111111-2222-3333-4444-555555555555',
      retries: 3,
      eta: new Date('2030-01-02T03:04:05.678Z'),
      expires: new Date('2030-01-03T00:00:00.000Z'),
      outerBase64,
    };
    const message: CeleryMessage = decodeMessage(encodeMessage(options));
    expect(message.task).toBe(options.task);
    expect(message.id).toBe(options.id);
    expect(message.args).toEqual(options.args);
    expect(message.kwargs).toEqual(options.kwargs);
    expect(message.retries).toBe(3);
    expect(message.eta?.getTime()).toBe(options.eta?.getTime());
    expect(message.expires?.getTime()).toBe(options.expires?.getTime());
  });

  it('writes eta and expires as ISO-8601 with an explicit offset', () => {
    const eta = new Date('2030-01-02T03:04:05.678Z');
    const expires = new Date('2030-01-03T00:00:00.000Z');
    const headers = envelopeOf(encodeMessage({ task: 'add', queue: 'q', eta, expires })).headers;
    expect(headers.eta).toMatch(ISO_WITH_OFFSET);
    expect(headers.expires).toMatch(ISO_WITH_OFFSET);
    expect(Date.parse(headers.eta as string)).toBe(eta.getTime());
    expect(Date.parse(headers.expires as string)).toBe(expires.getTime());
  });

  it.each([true, false])('round-trips unicode arguments (outerBase64: %s)', (outerBase64) => {
    const text = loadFixture('unicode_large.json').decoded.inner_body[0][0];
    expect(typeof text).toBe('string');
    expect(text).toContain('🎉');
    const args = [text, `${text}${text}`];
    const kwargs = { [`clé ${text}`]: text };
    const message = decodeMessage(encodeMessage({ task: 'add', args, kwargs, queue: 'q', outerBase64 }));
    expect(message.args).toEqual(args);
    expect(message.kwargs).toEqual(kwargs);
  });
});

describe('the SQS size limit', () => {
  const encodeWith = (size: number) => () =>
    encodeMessage({ task: 'add', args: ['x'.repeat(size)], queue: 'dev-add', id: 'fixed-id' });

  /** The smallest argument size whose encoded message is refused. */
  function firstRefusedSize(): number {
    let low = 0; // passes
    let high = SQS_MAX_BODY_BYTES; // refused: the encoded body is ~1.8 × this
    expect(encodeWith(low)).not.toThrow();
    expect(encodeWith(high)).toThrow(PayloadTooLargeError);
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      try {
        encodeWith(middle)();
        low = middle;
      } catch {
        high = middle;
      }
    }
    return high;
  }

  it('is 1 MiB, SQS’s largest since August 2025', () => {
    expect(SQS_MAX_BODY_BYTES).toBe(1024 * 1024);
  });

  it('is the queue’s own when it is smaller (maxBytes)', () => {
    const small = () => encodeMessage({ task: 'add', args: ['x'.repeat(150_000)], queue: 'q', maxBytes: 256 * 1024 });
    expect(small).toThrow(/over the SQS limit of 262144/);
    expect(encodeWith(150_000)).not.toThrow();
  });

  it('accepts a message just under the limit and refuses one just over, naming the size', () => {
    const refused = firstRefusedSize();

    const under = encodeWith(refused - 1)();
    const underBytes = Buffer.byteLength(under);
    expect(underBytes).toBeLessThanOrEqual(SQS_MAX_BODY_BYTES);
    // The boundary is where the encoded body crosses the limit, not somewhere else.
    expect(underBytes).toBeGreaterThan(SQS_MAX_BODY_BYTES - 16);
    expect(decodeMessage(under).args[0]).toHaveLength(refused - 1);

    const error = caught(encodeWith(refused));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    const size = Number(/(\d+) bytes/.exec(error.message)?.[1]);
    expect(size).toBeGreaterThan(SQS_MAX_BODY_BYTES);
    expect(size).toBeLessThanOrEqual(SQS_MAX_BODY_BYTES + 16);
    expect(error.message).toContain(String(SQS_MAX_BODY_BYTES));
    expect(error.message).toContain('add');
  });

  it('counts the encoded body, not the JSON of the arguments: about 580 KB of arguments fit in 1 MiB', () => {
    // 640 KB of arguments fit in 1 MiB as JSON, but not after the two base64 layers.
    expect(caught(encodeWith(640_000))).toBeInstanceOf(PayloadTooLargeError);
    expect(encodeWith(580_000)).not.toThrow();
  });
});

describe('decodeMessage refuses poison messages with a DecodeError', () => {
  const cases: [string, () => string][] = [
    ['an empty string', () => ''],
    ['text that is neither base64 nor JSON', () => '%%%'],
    ['base64 of something that is not JSON', () => toBase64('hello, world')],
    ['JSON that is not an object (base64)', () => toBase64('[1, 2, 3]')],
    ['JSON that is not an object (plain)', () => '[1, 2, 3]'],
    ['a JSON string', () => toBase64('"a string"')],
    [
      'an envelope without headers',
      () =>
        poisonBody((envelope) => {
          delete (envelope as Partial<Envelope>).headers;
        }),
    ],
    [
      'an envelope without headers.task',
      () =>
        poisonBody((envelope) => {
          delete (envelope.headers as Partial<Envelope['headers']>).task;
        }),
    ],
    [
      'an envelope without headers.id',
      () =>
        poisonBody((envelope) => {
          delete (envelope.headers as Partial<Envelope['headers']>).id;
        }),
    ],
    [
      'an inner body that is not a list',
      () =>
        poisonBody((envelope) => {
          envelope.body = toBase64(JSON.stringify({ args: [0, 1], kwargs: {} }));
        }),
    ],
    [
      'an inner body that is not JSON',
      () =>
        poisonBody((envelope) => {
          envelope.body = toBase64('not json');
        }),
    ],
    [
      'args that are not a list',
      () =>
        poisonBody((envelope) => {
          envelope.body = toBase64(JSON.stringify([{ x: 0 }, {}, {}]));
        }),
    ],
    [
      'kwargs that are not an object',
      () =>
        poisonBody((envelope) => {
          envelope.body = toBase64(JSON.stringify([[0], [1], {}]));
        }),
    ],
    [
      'body_encoding "gzip"',
      () =>
        poisonBody((envelope) => {
          envelope.properties.body_encoding = 'gzip';
        }),
    ],
    [
      'content-type application/x-python-serialize (pickle)',
      () =>
        poisonBody((envelope) => {
          envelope['content-type'] = 'application/x-python-serialize';
        }),
    ],
    [
      'an eta that is not a time',
      () =>
        poisonBody((envelope) => {
          envelope.headers.eta = 'tomorrow at noon';
        }),
    ],
    // A negative count never reaches maxRetries: each failure would retry at once, for ever.
    ...([-1000000, -1, 1.5, '5', true, Number.MAX_SAFE_INTEGER + 2].map((retries) => [
      `retries ${JSON.stringify(retries)}`,
      () =>
        poisonBody((envelope) => {
          (envelope.headers as { retries: unknown }).retries = retries;
        }),
    ]) as [string, () => string][]),
    [
      'an inner body whose base64 decodes to invalid UTF-8',
      () =>
        poisonBody((envelope) => {
          const json = Buffer.from('[[0, "x"], {}, {}]');
          json[json.indexOf('x')] = 0xff;
          envelope.body = json.toString('base64');
        }),
    ],
  ];

  it.each(cases)('%s', (_name, makeBody) => {
    const error = caught(() => decodeMessage(makeBody()));
    expect(error).toBeInstanceOf(DecodeError);
    expect(error.name).toBe('DecodeError');
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('says why, for the cases the DLQ reason must explain', () => {
    const reason = (change: (envelope: Envelope) => void) => caught(() => decodeMessage(poisonBody(change))).message;
    expect(
      reason((envelope) => {
        delete (envelope.headers as Partial<Envelope['headers']>).task;
      }),
    ).toMatch(/headers\.task/);
    expect(
      reason((envelope) => {
        envelope.properties.body_encoding = 'gzip';
      }),
    ).toMatch(/gzip/);
    expect(
      reason((envelope) => {
        envelope['content-type'] = 'application/x-python-serialize';
      }),
    ).toMatch(/application\/x-python-serialize/);
    expect(
      reason((envelope) => {
        envelope.headers.eta = 'tomorrow at noon';
      }),
    ).toMatch(/eta/);
  });

  it('names the retries header and the invalid UTF-8', () => {
    const reason = (change: (envelope: Envelope) => void) => caught(() => decodeMessage(poisonBody(change))).message;
    expect(
      reason((envelope) => {
        (envelope.headers as { retries: unknown }).retries = -1000000;
      }),
    ).toMatch(/headers\.retries must be a whole number ≥ 0, got -1000000/);
    expect(
      reason((envelope) => {
        envelope.body = Buffer.from([0x5b, 0xff, 0x5d]).toString('base64');
      }),
    ).toMatch(/not valid UTF-8/);
  });

  it('reads a missing or null retries header as 0, as Celery does', () => {
    for (const retries of [undefined, null]) {
      const body = poisonBody((envelope) => {
        (envelope.headers as { retries: unknown }).retries = retries;
      });
      expect(decodeMessage(body).retries).toBe(0);
    }
  });

  it('still accepts the unmodified base envelope (the poison cases differ only by their change)', () => {
    expect(decodeMessage(poisonBody(() => {})).args).toEqual([0, 1]);
  });
});

// Celery protocol 2 inside kombu's SQS envelope (DESIGN §5), both directions.
//
//   MessageBody = base64(JSON(envelope))          the outer base64 is optional on receive
//   envelope.body = base64(JSON([args, kwargs, embed]))   per properties.body_encoding
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DecodeError, PayloadTooLargeError } from './errors.ts';

/**
 * The largest message SQS takes (since August 2025; 256 KiB before). A queue may set a smaller
 * MaximumMessageSize: the worker and the producer check against the queue's own.
 */
export const SQS_MAX_BODY_BYTES = 1024 * 1024;

export interface CeleryHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: [number | null, number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  [extra: string]: unknown;
}

export interface CeleryEmbed {
  callbacks: unknown;
  errbacks: unknown;
  chain: unknown;
  chord: unknown;
}

export interface CeleryMessage {
  task: string;
  id: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  eta: Date | null;
  expires: Date | null;
  headers: CeleryHeaders;
  embed: CeleryEmbed;
  /** The kombu envelope as received, to re-send it with other headers (`withHeaders`). */
  envelope: Record<string, unknown>;
  /** Whether the SQS body was base64 of the envelope (kombu's `sqs_base64_encoding`). */
  outerBase64: boolean;
}

export interface EncodeOptions {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** The SQS queue name; kombu records it as the routing key. */
  queue: string;
  id?: string;
  retries?: number;
  eta?: Date | null;
  expires?: Date | null;
  rootId?: string;
  parentId?: string | null;
  /** Extra headers (e.g. `traceparent`), added next to Celery's own. */
  headers?: Record<string, unknown>;
  /** Celery's canvas: links, link_errors, the rest of a chain (reversed), a chord. */
  embed?: Partial<CeleryEmbed>;
  /** Celery's per-call time limits, in its header's order: [time_limit (hard), soft_time_limit]. */
  timelimit?: [number | null, number | null];
  /** The name logs show instead of the task's (Celery's `shadow`). */
  shadow?: string | null;
  ignoreResult?: boolean;
  /** The group this task belongs to (Celery's `group_id`) and its place in it. */
  group?: string | null;
  groupIndex?: number | null;
  replyTo?: string | null;
  /** kombu's `sqs_base64_encoding`: base64 the whole envelope. On by default, as Celery does. */
  outerBase64?: boolean;
  /** The queue's MaximumMessageSize; SQS's largest by default. */
  maxBytes?: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeMessage(body: string): CeleryMessage {
  const trimmed = body.trim();
  const outerBase64 = !trimmed.startsWith('{');
  const json = outerBase64 ? fromBase64(trimmed, 'the message body') : trimmed;
  const envelope = asObject(parseJson(json, 'the message body'), 'the envelope');
  const headers = asObject(envelope.headers, 'envelope.headers');
  const properties = asObject(envelope.properties ?? {}, 'envelope.properties');

  const contentType = envelope['content-type'];
  if (contentType !== undefined && contentType !== 'application/json') {
    throw new DecodeError(`content-type "${String(contentType)}" is not supported; only application/json is`);
  }
  if (typeof headers.task !== 'string' || headers.task === '') {
    throw new DecodeError('headers.task is missing: this is not a Celery protocol 2 message');
  }
  if (typeof headers.id !== 'string' || headers.id === '') {
    throw new DecodeError('headers.id is missing: this is not a Celery protocol 2 message');
  }
  if (typeof envelope.body !== 'string') {
    throw new DecodeError('envelope.body is not a string');
  }

  const inner = decodeInnerBody(envelope.body, properties.body_encoding);
  const payload = parseJson(inner, 'the task body');
  if (!Array.isArray(payload) || payload.length < 2) {
    throw new DecodeError('the task body is not [args, kwargs, embed]');
  }
  const [args, kwargs, embed] = payload as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw new DecodeError('the task args are not a list');
  const kwargsObject = asObject(kwargs, 'the task kwargs');

  return {
    task: headers.task,
    id: headers.id,
    args,
    kwargs: kwargsObject,
    retries: retriesOf(headers.retries),
    eta: parseTime(headers.eta, 'eta'),
    expires: parseTime(headers.expires, 'expires'),
    headers: headers as CeleryHeaders,
    embed: {
      callbacks: null,
      errbacks: null,
      chain: null,
      chord: null,
      ...(isObject(embed) ? embed : {}),
    },
    envelope,
    outerBase64,
  };
}

/**
 * The same task with some headers changed, as Celery's own retry sends it: same id, arguments
 * and encoding, a new delivery tag. Used for retries (`retries` + 1, a new `eta`).
 */
export function withHeaders(
  message: CeleryMessage,
  headers: Partial<CeleryHeaders>,
  maxBytes = SQS_MAX_BODY_BYTES,
): string {
  const properties = isObject(message.envelope.properties) ? message.envelope.properties : {};
  const envelope = {
    ...message.envelope,
    headers: { ...message.headers, ...headers },
    properties: { ...properties, delivery_tag: randomUUID() },
  };
  return checkSize(serialize(envelope, message.outerBase64), message.task, maxBytes);
}

export function encodeMessage(options: EncodeOptions): string {
  const id = options.id ?? randomUUID();
  const args = options.args ?? [];
  const kwargs = options.kwargs ?? {};
  const embed: CeleryEmbed = { callbacks: null, errbacks: null, chain: null, chord: null, ...options.embed };
  const expires = options.expires ?? null;

  const headers: CeleryHeaders = {
    lang: 'ts',
    task: options.task,
    id,
    shadow: options.shadow ?? null,
    eta: isoTime(options.eta),
    expires: isoTime(expires),
    group: options.group ?? null,
    group_index: options.groupIndex ?? null,
    retries: options.retries ?? 0,
    timelimit: options.timelimit ?? [null, null],
    root_id: options.rootId ?? id,
    parent_id: options.parentId ?? null,
    argsrepr: reprOf(args),
    kwargsrepr: reprOf(kwargs),
    origin: `${process.pid}@${hostname()}`,
    ignore_result: options.ignoreResult ?? false,
    ...options.headers,
  };
  const envelope = {
    body: toBase64(JSON.stringify([args, kwargs, embed])),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      correlation_id: id,
      reply_to: options.replyTo ?? randomUUID(),
      delivery_mode: 2,
      // As kombu writes Celery's `expires`: milliseconds left, as a string (AMQP's message TTL).
      ...(expires ? { expiration: String(Math.max(0, Math.trunc(expires.getTime() - Date.now()))) } : {}),
      delivery_info: { exchange: '', routing_key: options.queue },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
  return checkSize(
    serialize(envelope, options.outerBase64 !== false),
    options.task,
    options.maxBytes ?? SQS_MAX_BODY_BYTES,
  );
}

function serialize(envelope: object, outerBase64: boolean): string {
  const json = JSON.stringify(envelope);
  return outerBase64 ? toBase64(json) : json;
}

/**
 * The same message without its outer base64 layer (kombu and this worker read both), a quarter
 * smaller; the body unchanged when it has no such layer.
 */
export function withoutOuterBase64(body: string): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) return body;
  try {
    const json = fromBase64(trimmed, 'the message body');
    JSON.parse(json);
    return json;
  } catch {
    return body;
  }
}

function checkSize(body: string, task: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(body);
  if (bytes > maxBytes) {
    throw new PayloadTooLargeError(
      `task ${task}: the encoded message is ${bytes} bytes, over the SQS limit of ${maxBytes} (the base64 layers make it about 1.8 × the JSON of the arguments); send a reference to the data instead`,
    );
  }
  return body;
}

/** Celery counts retries from 0; anything but a whole number ≥ 0 is refused, never guessed. */
function retriesOf(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new DecodeError(`headers.retries must be a whole number ≥ 0, got ${JSON.stringify(value).slice(0, 40)}`);
}

function decodeInnerBody(body: string, encoding: unknown): string {
  if (encoding === 'base64') return fromBase64(body, 'envelope.body');
  if (encoding === undefined || encoding === null) return body;
  throw new DecodeError(`body_encoding "${String(encoding)}" is not supported; only base64 or none is`);
}

function fromBase64(text: string, what: string): string {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new DecodeError(`${what} is neither JSON nor base64`);
  }
  try {
    return UTF8.decode(Buffer.from(compact, 'base64'));
  } catch {
    throw new DecodeError(`${what} decodes to bytes that are not valid UTF-8`);
  }
}

/** Invalid UTF-8 is refused, not replaced with U+FFFD: the task would run on altered arguments. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DecodeError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!isObject(value)) throw new DecodeError(`${what} is not a JSON object`);
  return value;
}

/** Celery writes ISO-8601; a time without an offset is UTC. */
function parseTime(value: unknown, what: string): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new DecodeError(`headers.${what} is not an ISO-8601 string`);
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const date = new Date(hasOffset ? value : `${value}Z`);
  if (Number.isNaN(date.getTime())) throw new DecodeError(`headers.${what} "${value}" is not an ISO-8601 time`);
  return date;
}

/** ISO-8601 with an explicit +00:00, which every Python version's parser accepts. */
export function isoTime(date: Date): string;
export function isoTime(date: Date | null | undefined): string | null;
export function isoTime(date: Date | null | undefined): string | null {
  return date ? date.toISOString().replace('Z', '+00:00') : null;
}

/** A short, Python-looking rendering for Flower and logs; never parsed by anyone. */
function reprOf(value: unknown): string {
  const text = Array.isArray(value)
    ? `(${value.map((v) => JSON.stringify(v)).join(', ')}${value.length === 1 ? ',' : ''})`
    : JSON.stringify(value);
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

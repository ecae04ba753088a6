// Where message bodies too large for SQS go (integration `large-payloads`, an S3 bucket). The
// runtime knows only this interface; the S3 client lives in src/integrations/large-payloads.ts.
import { randomUUID } from 'node:crypto';
import { MAX_KEY_PREFIX_LENGTH, type PayloadPointer } from './payload-pointer.ts';

export interface PayloadStore {
  /** Bodies longer than this many bytes go to S3 (a queue's MaximumMessageSize by default). */
  thresholdBytes(queueMaxBytes: number): number;
  put(body: string, signal?: AbortSignal): Promise<PayloadPointer>;
  /** The stored body; rejects with PayloadUnavailableError when it is missing, unreadable or over maxBytes. */
  get(pointer: PayloadPointer, options: { maxBytes: number; signal?: AbortSignal }): Promise<string>;
  delete(pointer: PayloadPointer): Promise<void>;
  /** The longest body this worker reads back (LARGE_PAYLOAD_MAX_BYTES). */
  readonly maxReadBytes: number;
  /** Whether objects stay after their message is done (LARGE_PAYLOAD_KEEP); left to the bucket's lifecycle rule. */
  readonly keep: boolean;
}

/**
 * A stored body that cannot be had: missing, unreadable, larger than allowed, or too slow. The
 * message is dead-lettered with this reason (its pointer and object kept); it is never retried
 * here, as a missing object does not come back.
 */
export class PayloadUnavailableError extends Error {
  override name = 'PayloadUnavailableError';
}

/** A threshold setting: a number of bytes, `always` (every body goes to S3) or unset (what does not fit the queue). */
export type PayloadThreshold = number | 'always' | undefined;

/** The body size past which a body goes to S3, for a queue that takes at most `queueMaxBytes`. */
export function thresholdFor(setting: PayloadThreshold, queueMaxBytes: number): number {
  if (setting === 'always') return 0;
  // Never past what the queue takes: a larger setting would only make sends fail.
  return setting === undefined ? queueMaxBytes : Math.min(setting, queueMaxBytes);
}

/** Whether `body` goes to S3 under `threshold`: its UTF-8 size, as SQS and the extended clients count it. */
export function exceeds(body: string, threshold: number): boolean {
  // body.length ≤ bytes ≤ 3 × body.length: most bodies are decided without counting.
  if (body.length > threshold) return true;
  if (body.length * 3 <= threshold) return false;
  return Buffer.byteLength(body) > threshold;
}

/** A fresh object key: the prefix, then a UUID (as the Java client names its objects). */
export function payloadKey(prefix: string): string {
  return `${prefix}${randomUUID()}`;
}

/** Refuses a prefix the Java client would refuse (so both sides can share one bucket layout). */
export function checkKeyPrefix(prefix: string): string | undefined {
  if (prefix.length > MAX_KEY_PREFIX_LENGTH) return `at most ${MAX_KEY_PREFIX_LENGTH} characters`;
  if (prefix.startsWith('.') || prefix.startsWith('/')) return 'not starting with "." or "/"';
  if (prefix.includes('..')) return 'without ".."';
  if (/[^a-zA-Z0-9./_-]/.test(prefix)) return 'only letters, digits, "/", "_", "-" and "."';
  return undefined;
}

// The bodies dead letters keep in S3 (large-payloads, or an SQS extended client): read for `dlq peek`
// (never deleted: the message may be redriven), deleted by `dlq purge` once their messages are gone.
import { DeleteObjectsCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PayloadPointer } from '../../templates/worker/src/runtime/payload-pointer.ts';
import type { PayloadReader } from './read.ts';

/** The largest stored body peek reads: enough to show a task's arguments, not a 50 MB download each. */
export const PEEK_MAX_BYTES = 16 * 1024 * 1024;
/** S3's DeleteObjects takes at most this many keys a call. */
const DELETE_BATCH = 1000;

const GONE = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

export function s3PayloadReader(s3: S3Client, maxBytes = PEEK_MAX_BYTES): PayloadReader {
  const tooLarge = (bytes: number) => ({
    unread: `${bytes} bytes, more than peek reads (${maxBytes}); not read`,
  });
  return async ({ bucket, key, size }) => {
    if (size > maxBytes) return tooLarge(size);
    try {
      const { Body, ContentLength = 0 } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (ContentLength > maxBytes) {
        (Body as { destroy?: () => void } | undefined)?.destroy?.();
        return tooLarge(ContentLength);
      }
      return { body: (await Body?.transformToString('utf-8')) ?? '' };
    } catch (error) {
      const { name, message } = error as Error;
      if (GONE.has(name)) {
        return {
          unread: `${name}: the object is gone (the bucket's lifecycle rule, or a purge); the message cannot run`,
        };
      }
      return { unread: `${name}: ${message}` };
    }
  };
}

/** Deletes the objects, by bucket, 1000 a call; returns how many S3 deleted and the errors it gave. */
export async function deletePayloads(
  s3: S3Client,
  pointers: readonly PayloadPointer[],
): Promise<{ deleted: number; errors: string[] }> {
  const byBucket = new Map<string, Set<string>>();
  for (const { bucket, key } of pointers) byBucket.set(bucket, (byBucket.get(bucket) ?? new Set()).add(key));
  let deleted = 0;
  const errors: string[] = [];
  for (const [bucket, inBucket] of byBucket) {
    const keys = [...inBucket];
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      try {
        const { Errors = [] } = await s3.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        deleted += batch.length - Errors.length;
        errors.push(...Errors.map(({ Key, Code }) => `s3://${bucket}/${Key}: ${Code}`));
      } catch (error) {
        errors.push(`s3://${bucket} (${batch.length} objects): ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
  }
  return { deleted, errors };
}

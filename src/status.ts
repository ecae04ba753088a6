// `be-worker status`: how many messages each queue of a worker and its dead-letter queue hold, as
// SQS counts them (the same attributes the worker's queue-depth metrics read); with large-payloads,
// what its bucket holds.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { readQueueDepth } from '../templates/worker/src/runtime/depth.ts';
import { findQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { type AwsTarget, awsCall, awsError, type Identity, whoAmI, withAws } from './aws.ts';
import { type PayloadBucket, payloadBucketOf } from './payload-bucket.ts';
import type { WorkerQueue } from './worker-queues.ts';

export interface Depth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface QueueStatus extends Partial<Depth> {
  /** The short name of the worker's queue this row belongs to. */
  queue: string;
  name: string;
  role: 'queue' | 'dead-letter';
  /** The queue does not exist in SQS (not provisioned in this env). */
  missing?: boolean;
}

export interface StatusReport {
  identity: Identity;
  region: string;
  env: string;
  queues: QueueStatus[];
  /** With large-payloads: what its bucket holds under the prefix. */
  payloads?: PayloadUsage;
}

/**
 * The objects under the prefix, from one listing (up to 1000; `more` when there are more): bodies of
 * messages queued, in flight or dead-lettered, kept ones, and orphans the lifecycle rule will remove.
 */
export interface PayloadUsage extends PayloadBucket {
  objects: number;
  bytes: number;
  more: boolean;
  /** The bucket is not there (not provisioned in this env). */
  missing?: boolean;
}

export interface StatusOptions extends AwsTarget {
  env: string;
  queues: readonly WorkerQueue[];
  /** With large-payloads: the worker's name and the bucket flags (provision's default bucket when none). */
  payloads?: { worker: string; bucket?: string | undefined; prefix: string };
  signal?: AbortSignal;
}

export async function status(options: StatusOptions): Promise<StatusReport> {
  return withAws(
    options,
    async ({ sts, sqs, s3 }) => {
      const identity = await whoAmI(sts, options);
      const { payloads } = options;
      const bucket =
        payloads && payloadBucketOf(payloads, { ...payloads, env: options.env, account: identity.account });
      const [queues, usage] = await Promise.all([
        queueStatuses(sqs, options.queues),
        bucket && awsCall(() => payloadUsage(s3, bucket), `listing s3://${bucket.bucket}/${bucket.prefix}`, options),
      ]);
      return { identity, region: options.region, env: options.env, queues, ...(usage ? { payloads: usage } : {}) };
    },
    'Cancelled.',
  );
}

/** One ListObjectsV2 call: cheap, and exact up to 1000 objects. */
async function payloadUsage(s3: S3Client, { bucket, prefix }: PayloadBucket): Promise<PayloadUsage> {
  try {
    const { Contents = [], IsTruncated } = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}) }),
    );
    return {
      bucket,
      prefix,
      objects: Contents.length,
      bytes: Contents.reduce((sum, { Size = 0 }) => sum + Size, 0),
      more: Boolean(IsTruncated),
    };
  } catch (error) {
    if ((error as Error).name !== 'NoSuchBucket') throw error;
    return { bucket, prefix, objects: 0, bytes: 0, more: false, missing: true };
  }
}

/** Each queue, then its dead-letter queue, in the order of src/config/queues.ts. */
export async function queueStatuses(sqs: SQSClient, queues: readonly WorkerQueue[]): Promise<QueueStatus[]> {
  const rows = queues.flatMap(({ queue, fullName, deadLetterName }) => [
    { queue, name: fullName, role: 'queue' as const },
    { queue, name: deadLetterName, role: 'dead-letter' as const },
  ]);
  return Promise.all(
    rows.map(async (row) => {
      try {
        const url = await findQueueUrl(sqs, row.name);
        return url ? { ...row, ...(await readDepth(sqs, url)) } : { ...row, missing: true };
      } catch (error) {
        throw awsError(error, `reading the depth of ${row.name}`);
      }
    }),
  );
}

export async function readDepth(sqs: SQSClient, url: string): Promise<Depth> {
  const { visible, in_flight: inFlight, delayed } = await readQueueDepth(sqs, url);
  return { visible, inFlight, delayed };
}

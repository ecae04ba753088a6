// `be-worker status`: how many messages each queue of a worker and its dead-letter queue hold, as
// SQS counts them (the same attributes the worker's queue-depth metrics read).
import type { SQSClient } from '@aws-sdk/client-sqs';
import { readQueueDepth } from '../templates/worker/src/runtime/depth.ts';
import { findQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { type AwsTarget, awsError, type Identity, whoAmI, withAws } from './aws.ts';
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
}

export interface StatusOptions extends AwsTarget {
  env: string;
  queues: readonly WorkerQueue[];
  signal?: AbortSignal;
}

export async function status(options: StatusOptions): Promise<StatusReport> {
  return withAws(
    options,
    async ({ sts, sqs }) => ({
      identity: await whoAmI(sts, options),
      region: options.region,
      env: options.env,
      queues: await queueStatuses(sqs, options.queues),
    }),
    'Cancelled.',
  );
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

// `be-worker dlq`: a worker's dead letters read, summed up, moved back to their queue, or purged.
// Each command first asks who it acts as (STS), then finds the queue by any of its names.
import type { S3Client } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { findQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { MAX_BATCH } from '../../templates/worker/src/runtime/timing.ts';
import { type AwsTarget, awsError, type Identity, whoAmI, withAws } from '../aws.ts';
import { CancelledError, EnvironmentError } from '../errors.ts';
import { readDepth } from '../status.ts';
import { queueUrl, type WorkerQueue, workerQueueNamed } from '../worker-queues.ts';
import { type DeadLetterGroup, groupDeadLetters } from './group.ts';
import { MoveTasksUnsupportedError, moveTask } from './move-task.ts';
import { deletePayloads, s3PayloadReader } from './payloads.ts';
import { type DeadLetter, READ_HIDE_SECONDS, readDeadLetters, withPayloads } from './read.ts';
import { type LoopResult, redriveLoop } from './redrive-loop.ts';

export interface DlqOptions extends AwsTarget {
  env: string;
  /** The worker's queues (src/config/queues.ts) with their names in `env`. */
  queues: readonly WorkerQueue[];
  signal?: AbortSignal | undefined;
}

/** Who and where: the first thing each command reports. */
export interface Where {
  identity: Identity;
  region: string;
  env: string;
}

interface Opened {
  where: Where;
  sqs: SQSClient;
  s3: S3Client;
  /** The queue named on the command line, with the URLs of it and its DLQ. */
  open(name: string): Promise<{ queue: WorkerQueue; url: string; deadLetterUrl: string }>;
}

/** Runs `work` after STS; reading commands stop at once on Ctrl-C (`cancelled`), the others themselves. */
function session<T>(options: DlqOptions, work: (opened: Opened) => Promise<T>, cancelled?: string): Promise<T> {
  return withAws(
    options,
    async ({ sts, sqs, s3 }) => {
      const identity = await whoAmI(sts, options);
      const open = async (name: string) => {
        const queue = workerQueueNamed(options.queues, name, options.env);
        const [url, deadLetterUrl] = await Promise.all([
          queueUrl(sqs, queue.fullName, options.env),
          queueUrl(sqs, queue.deadLetterName, options.env),
        ]);
        return { queue, url, deadLetterUrl };
      };
      try {
        return await work({ where: { identity, region: options.region, env: options.env }, sqs, s3, open });
      } catch (error) {
        throw awsError(error, 'working on the dead-letter queue', options);
      }
    },
    cancelled,
  );
}

async function messagesIn(sqs: SQSClient, url: string): Promise<number> {
  const { visible, inFlight, delayed } = await readDepth(sqs, url);
  return visible + inFlight + delayed;
}

export interface DeadLetterSummary {
  queue: string;
  deadLetterQueue: string;
  /** As SQS counts them. */
  messages: number;
  /** How many were read to group them (at most `max`). */
  read: number;
  groups: DeadLetterGroup[];
  /** Not in SQS: the worker's queues are not provisioned in this env. */
  missing?: boolean;
}

/** Per dead-letter queue (all of the worker's, or one): its count, and its messages by reason and task. */
export async function listDeadLetters(
  options: DlqOptions & { queue?: string | undefined; max?: number },
): Promise<Where & { queues: DeadLetterSummary[] }> {
  const max = options.max ?? 1000;
  return session(
    options,
    async ({ where, sqs }) => {
      const names = options.queue ? [options.queue] : options.queues.map(({ queue }) => queue);
      const queues = await Promise.all(
        names.map(async (name): Promise<DeadLetterSummary> => {
          const queue = workerQueueNamed(options.queues, name, options.env);
          const summary = { queue: queue.queue, deadLetterQueue: queue.deadLetterName };
          // Listing them all, a queue not provisioned in this env is a row, not a failure.
          const url = options.queue
            ? await queueUrl(sqs, queue.deadLetterName, options.env)
            : await findQueueUrl(sqs, queue.deadLetterName);
          if (!url) return { ...summary, messages: 0, read: 0, groups: [], missing: true };
          const messages = await messagesIn(sqs, url);
          const letters = messages > 0 ? await readDeadLetters(sqs, url, max) : [];
          return { ...summary, messages, read: letters.length, groups: groupDeadLetters(letters) };
        }),
      );
      return { ...where, queues };
    },
    'Cancelled.',
  );
}

export interface PeekReport extends Where {
  queue: string;
  deadLetterQueue: string;
  messages: number;
  letters: DeadLetter[];
}

/**
 * The first `count` dead letters decoded; they stay where they were, visible again at once. A body
 * in S3 is read (up to PEEK_MAX_BYTES) and decoded, and left there.
 */
export async function peekDeadLetters(options: DlqOptions & { queue: string; count: number }): Promise<PeekReport> {
  return session(
    options,
    async ({ where, sqs, s3, open }) => {
      const { queue, deadLetterUrl } = await open(options.queue);
      const letters = await readDeadLetters(sqs, deadLetterUrl, options.count);
      return {
        ...where,
        queue: queue.queue,
        deadLetterQueue: queue.deadLetterName,
        messages: await messagesIn(sqs, deadLetterUrl),
        letters: await withPayloads(letters, s3PayloadReader(s3)),
      };
    },
    `Cancelled; the messages read are visible again within ${READ_HIDE_SECONDS} s.`,
  );
}

export interface PurgePlan extends Where {
  deadLetterQueue: string;
  messages: number;
}

export interface PurgeReport extends PurgePlan {
  /** With payloads: the objects of the purged messages read beforehand, deleted after the purge. */
  objects?: { deleted: number; errors: string[] };
}

/**
 * Empties the queue's DLQ, once `confirm` (shown the count and the env) resolves. With `payloads`
 * (the worker stores large bodies in S3), the messages are read first for their pointers, and once
 * SQS has taken the purge their objects are deleted; one that arrives after the read keeps its
 * object until the bucket's lifecycle rule removes it.
 */
export async function purgeDeadLetters(
  options: DlqOptions & { queue: string; payloads?: boolean; confirm?(plan: PurgePlan): Promise<unknown> },
): Promise<PurgeReport> {
  return session(
    options,
    async ({ where, sqs, s3, open }) => {
      const { queue, deadLetterUrl } = await open(options.queue);
      const plan = { ...where, deadLetterQueue: queue.deadLetterName, messages: await messagesIn(sqs, deadLetterUrl) };
      await options.confirm?.(plan);
      const pointers = options.payloads
        ? (await readDeadLetters(sqs, deadLetterUrl, plan.messages)).flatMap(({ payload }) =>
            payload ? [payload] : [],
          )
        : [];
      // SQS takes up to a minute to finish, and allows one purge a minute.
      await sqs.send(new PurgeQueueCommand({ QueueUrl: deadLetterUrl }));
      if (!options.payloads) return plan;
      return { ...plan, objects: await deletePayloads(s3, pointers) };
    },
    'Cancelled; nothing was purged.',
  );
}

export interface RedrivePlan extends Where {
  from: string;
  to: string;
  /** In the dead-letter queue, as SQS counts them. */
  messages: number;
  task?: string;
}

export interface RedriveProgress {
  moved: number;
  /** Unknown with a task filter. */
  total?: number | undefined;
}

export interface RedriveReport extends RedrivePlan {
  dryRun: boolean;
  /** How: SQS's own message move, or batches sent and deleted by this command. */
  method?: 'move-task' | 'loop';
  moved: number;
  /** Dry run: what would move, by task. */
  wouldMove?: { task: string; count: number }[];
  loop?: LoopResult;
  moveTask?: { status: string; failureReason?: string };
}

export interface RedriveOptions extends DlqOptions {
  queue: string;
  task?: string | undefined;
  rate?: number | undefined;
  dryRun?: boolean | undefined;
  /** Asked before anything moves (the CLI asks in shared envs); rejecting stops it. */
  confirm?(plan: RedrivePlan): Promise<unknown>;
  onProgress?(progress: RedriveProgress): void;
  /** A line worth telling: the fallback to the loop. */
  onNote?(note: string): void;
}

/**
 * Moves the queue's dead letters back to it: by StartMessageMoveTask where SQS has it, otherwise
 * (or with a task filter) batch by batch. Ctrl-C stops it (CancelledError, saying how many moved).
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveReport> {
  return session(options, async ({ where, sqs, open }) => {
    const { queue, url, deadLetterUrl } = await open(options.queue);
    const plan: RedrivePlan = {
      ...where,
      from: queue.deadLetterName,
      to: queue.fullName,
      messages: await messagesIn(sqs, deadLetterUrl),
      ...(options.task ? { task: options.task } : {}),
    };
    if (options.dryRun) {
      const letters = await readDeadLetters(sqs, deadLetterUrl, Math.max(plan.messages, MAX_BATCH));
      const moving = letters.filter((letter) => !options.task || letter.task === options.task);
      const wouldMove = groupDeadLetters(moving.map(({ task }) => ({ task })));
      return {
        ...plan,
        dryRun: true,
        moved: 0,
        wouldMove: wouldMove.map(({ task, count }) => ({ task, count })),
      };
    }
    await options.confirm?.(plan);
    if (options.signal?.aborted) throw new CancelledError('Cancelled; nothing was moved.');
    const { signal, rate } = options;
    if (!options.task) {
      try {
        const moved = await moveTask({
          sqs,
          fromUrl: deadLetterUrl,
          toUrl: url,
          rate,
          signal,
          onProgress: (count, total) => options.onProgress?.({ moved: count, total }),
        });
        const report: RedriveReport = {
          ...plan,
          dryRun: false,
          method: 'move-task',
          moved: moved.moved,
          moveTask: { status: moved.status, ...(moved.failureReason ? { failureReason: moved.failureReason } : {}) },
        };
        if (signal?.aborted) throw cancelledAfter(report);
        if (moved.status === 'FAILED') {
          throw new EnvironmentError(
            `The message move task failed after ${moved.moved} message(s): ${moved.failureReason ?? 'SQS gave no reason'}; run the redrive again to move the rest.`,
          );
        }
        return report;
      } catch (error) {
        if (!(error instanceof MoveTasksUnsupportedError)) throw error;
        options.onNote?.(
          'This SQS has no message moves (StartMessageMoveTask); moving the messages batch by batch instead.',
        );
      }
    }
    const loop = await redriveLoop({
      sqs,
      from: { name: queue.deadLetterName, url: deadLetterUrl },
      to: { name: queue.fullName, url },
      task: options.task,
      rate,
      limit: plan.messages,
      signal,
      onProgress: (moved) => options.onProgress?.({ moved, total: options.task ? undefined : plan.messages }),
    });
    const report: RedriveReport = { ...plan, dryRun: false, method: 'loop', moved: loop.moved, loop };
    if (signal?.aborted) throw cancelledAfter(report);
    if (loop.failed > 0) {
      throw new EnvironmentError(
        `SQS refused ${loop.failed} message(s) sent to ${queue.fullName}; they stay in ${queue.deadLetterName} (${loop.moved} moved): run the redrive again.`,
      );
    }
    return report;
  });
}

function cancelledAfter({ moved, from, to }: RedriveReport): CancelledError {
  return new CancelledError(`Cancelled: ${moved} message(s) moved to ${to}; the rest stay in ${from}.`);
}

// Redrive by SQS itself: StartMessageMoveTask from the dead-letter queue to its queue, followed with
// ListMessageMoveTasks, cancelled with CancelMessageMoveTask. The worker sends its own dead letters,
// so SQS cannot tell their source: the destination is always given (the DLQ's RedriveAllowPolicy,
// set by `be-worker provision`, allows its own queue).
import {
  CancelMessageMoveTaskCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { sleep } from '../../templates/worker/src/runtime/timing.ts';
import { isUnsupported } from '../aws.ts';

/** This SQS has no message moves (fauxqs, some local emulators). */
export class MoveTasksUnsupportedError extends Error {
  override name = 'MoveTasksUnsupportedError';
}

export interface MoveOptions {
  sqs: SQSClient;
  fromUrl: string;
  toUrl: string;
  rate?: number | undefined;
  /** Cancels the move task (CancelMessageMoveTask); what moved stays moved. */
  signal?: AbortSignal | undefined;
  onProgress?(moved: number, toMove: number | undefined): void;
  /** How often the progress is read. */
  pollMs?: number;
}

export interface MoveResult {
  status: string;
  moved: number;
  toMove?: number;
  failureReason?: string;
  sourceArn: string;
  destinationArn: string;
}

export async function moveTask({ sqs, fromUrl, toUrl, rate, signal, onProgress, pollMs = 1000 }: MoveOptions) {
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, fromUrl), queueArn(sqs, toUrl)]);
  let handle: string | undefined;
  try {
    ({ TaskHandle: handle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: sourceArn,
        DestinationArn: destinationArn,
        ...(rate ? { MaxNumberOfMessagesPerSecond: rate } : {}),
      }),
    ));
  } catch (error) {
    if (isUnsupported(error)) throw new MoveTasksUnsupportedError((error as Error).message);
    throw error;
  }
  let cancelled = false;
  for (;;) {
    const task = await latestTask(sqs, sourceArn);
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    onProgress?.(moved, task?.ApproximateNumberOfMessagesToMove);
    const status = task?.Status ?? 'UNKNOWN';
    if (['COMPLETED', 'CANCELLED', 'FAILED'].includes(status) || (cancelled && status !== 'RUNNING')) {
      return {
        status,
        moved,
        sourceArn,
        destinationArn,
        ...(task?.ApproximateNumberOfMessagesToMove !== undefined
          ? { toMove: task.ApproximateNumberOfMessagesToMove }
          : {}),
        ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
      } satisfies MoveResult;
    }
    if (signal?.aborted && !cancelled) {
      cancelled = true;
      await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle }));
      continue;
    }
    await sleep(pollMs, cancelled ? undefined : signal);
  }
}

/** The most recent move task from this queue (SQS lists the latest first). */
async function latestTask(sqs: SQSClient, sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
  return Results[0];
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes?.QueueArn ?? '';
}

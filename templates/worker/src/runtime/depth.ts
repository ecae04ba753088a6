// How many messages wait in each queue and its dead-letter queue, as SQS counts them, for the
// dashboard and the alerts: what piles up in `err-` is what matters most, and only SQS knows it.
// One GetQueueAttributes per queue every interval (jittered, so replicas spread out), skipped
// while SQS is failing for the consumers anyway; a failed read is counted and the gauge left as is.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ResolvedQueue } from './queues.ts';

/** The depth SQS reports, by the name the metrics and `be-worker status` give it. */
const DEPTH_ATTRIBUTES = {
  visible: 'ApproximateNumberOfMessages',
  in_flight: 'ApproximateNumberOfMessagesNotVisible',
  delayed: 'ApproximateNumberOfMessagesDelayed',
} as const;

export interface DepthOptions {
  sqs: SQSClient;
  queues: readonly ResolvedQueue[];
  metrics: Pick<Metrics, 'queueMessages' | 'oldestMessageAge' | 'queueDepthErrors'>;
  log: Logger;
  intervalSeconds: number;
  /** Skip a round (SQS is failing for the consumers: no point asking it more). */
  skip?(): boolean;
}

/** Reads once now, then every interval; returns the function that stops it. */
export function watchQueueDepth(options: DepthOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const round = async () => {
    if (!options.skip?.()) await readDepths(options);
    if (stopped) return;
    const jitter = 0.9 + Math.random() * 0.2;
    timer = setTimeout(round, options.intervalSeconds * 1000 * jitter);
    timer.unref();
  };
  void round();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export type Depth = Record<keyof typeof DEPTH_ATTRIBUTES, number>;

/** One queue's depth, as SQS counts it (each read has a deadline). */
export async function readQueueDepth(sqs: SQSClient, url: string): Promise<Depth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: Object.values(DEPTH_ATTRIBUTES) }),
    { abortSignal: AbortSignal.timeout(10_000) },
  );
  const count = (kind: keyof Depth) => Number(Attributes[DEPTH_ATTRIBUTES[kind]] ?? 0);
  return { visible: count('visible'), in_flight: count('in_flight'), delayed: count('delayed') };
}

export async function readDepths({ sqs, queues, metrics, log }: DepthOptions): Promise<void> {
  const targets = queues.flatMap((queue) => [
    { label: queue.queue, url: queue.url },
    { label: `err-${queue.queue}`, url: queue.deadLetterUrl },
  ]);
  await Promise.all(
    targets.map(async ({ label, url }) => {
      try {
        const depth = await readQueueDepth(sqs, url);
        for (const [kind, count] of Object.entries(depth)) metrics.queueMessages.set({ queue: label, kind }, count);
        if (depth.visible === 0) metrics.oldestMessageAge.set({ queue: label }, 0);
      } catch (error) {
        metrics.queueDepthErrors.inc({ queue: label });
        log.warn({ queue: label, err: error }, 'could not read the queue depth; trying again at the next interval');
      }
    }),
  );
}

// The side of a benchmark consumer that talks to the driver (bench/throughput.ts) over IPC: it
// reads its settings, reports `ready`, starts on `go`, records each message's sent → done
// latency, and on `stop` stops and sends them back. Every consumer runs the same work per message:
// decode the Celery body the worker would get, then nothing or a sleep.
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeMessage } from '../../templates/worker/src/runtime/codec.ts';

export interface ConsumerSettings {
  endpoint: string;
  region: string;
  /** The full SQS name, e.g. bench-local-run-3. */
  queueName: string;
  queueUrl: string;
  /** Every queue of the run (be-worker consumes them all; the others the first only). */
  queueNames: string[];
  concurrency: number;
  /** The messages are pointers to bodies in S3 (be-worker only, with the large-payloads integration). */
  largePayloads?: boolean;
}

/** The bench task's work: args are [sent at (ms since epoch), sleep (ms)] and maybe a padding. */
export async function benchTask(
  [sentAt, sleepMs]: readonly [number, number, ...unknown[]],
  done: (sentAt: number) => void,
) {
  if (sleepMs > 0) await sleep(sleepMs);
  done(sentAt);
}

/** What the non-Celery consumers do with a body: decode it as the worker does, then the task. */
export async function handleBody(body: string | undefined, done: (sentAt: number) => void): Promise<void> {
  const { args } = decodeMessage(body ?? '');
  await benchTask(args as [number, number], done);
}

export function runConsumer(
  start: (settings: ConsumerSettings, done: (sentAt: number) => void) => Promise<() => Promise<void>>,
) {
  const settings = JSON.parse(process.env.BENCH_SETTINGS ?? '{}') as ConsumerSettings;
  const latencies: number[] = [];
  const done = (sentAt: number) => latencies.push(Date.now() - sentAt);
  let stop: (() => Promise<void>) | undefined;
  process.on('message', async (message: string) => {
    if (message === 'go') stop = await start(settings, done);
    if (message === 'stop') {
      await stop?.();
      process.send?.({ latencies }, () => process.exit(0));
    }
  });
  process.send?.('ready');
}

// Worker throughput: N tasks through one consumer process at concurrency C against a local SQS
// (fauxqs) in its own process; the generated worker's runtime side by side with sqs-consumer and
// a bare SDK loop. The queue is filled first. Throughput and CPU are the steady state's: from the
// moment a tenth of the messages are gone (each consumer's start-up and warm-up behind it) to the
// queue empty (every message handled and deleted). Latency is sent → handler done, per message.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { encodeMessage } from '../templates/worker/src/runtime/codec.ts';
import { pointerMessage } from '../templates/worker/src/runtime/payload-pointer.ts';
import { provisionQueues } from '../templates/worker/src/runtime/provision.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { type SqsProcess, startSqsProcess } from '../test/support/sqs.ts';
import type { ConsumerSettings } from './consumers/harness.ts';
import { benchPayloadStore } from './large-payloads.ts';
import { cpuSeconds, percentile, round, rssMb, steadyState } from './stats.ts';

export const CONSUMERS = ['be-worker', 'sqs-consumer', 'sdk-loop'] as const;
type ConsumerName = (typeof CONSUMERS)[number];

export interface Scenario {
  name: 'noop' | 'sleep';
  messages: number;
  concurrency: number;
  /** Each task's sleep in ms, drawn once per scenario so every consumer gets the same ones. */
  sleeps: readonly number[];
  /** Queues the messages are spread over (be-worker only when more than one); 1 by default. */
  queues?: number;
  /** Each SQS body padded to about this many bytes (a third, string argument); unpadded by default. */
  bodyBytes?: number;
  /** Bodies go to S3 and the messages carry pointers (integration large-payloads; be-worker only). */
  largePayloads?: boolean;
}

export interface RunResult {
  consumer: ConsumerName;
  /** From `go` to the queue empty, start-up included. */
  seconds: number;
  /** Steady state: messages ÷ seconds from a tenth of them gone to the queue empty. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  handled: number;
  peakRssMb: number;
  /** The consumer process's CPU time (user + system, all its threads) per message in the steady state, µs. */
  cpuUsPerMessage: number;
}

export function scenario(
  name: Scenario['name'],
  messages: number,
  concurrency: number,
  extra: Pick<Scenario, 'queues' | 'bodyBytes' | 'largePayloads'> = {},
): Scenario {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const sleeps = Array.from({ length: messages }, () => (name === 'noop' ? 0 : 10 + Math.round(random() * 90)));
  return { name, messages, concurrency, sleeps, ...extra };
}

let queueNumber = 0;

/** The Celery body of bench task `index`: [sent at, sleep ms], padded to about `bodyBytes`. */
export function benchBody(scenario: Scenario, index: number, queue: string): string {
  const args: unknown[] = [Date.now(), scenario.sleeps[index] ?? 0];
  if (!scenario.bodyBytes) return encodeMessage({ task: 'bench', args, queue });
  const bare = encodeMessage({ task: 'bench', args: [...args, ''], queue, id: '0'.repeat(36) }).length;
  // argsrepr carries the padding once more, and the body carries it base64'd (4 ÷ 3).
  const padding = Math.max(0, Math.floor((scenario.bodyBytes - bare) / (1 + 4 / 3)));
  // Past SQS's limit only with large payloads (they go to S3).
  const maxBytes = scenario.largePayloads ? 2 * scenario.bodyBytes : undefined;
  return encodeMessage({ task: 'bench', args: [...args, 'x'.repeat(padding)], queue, maxBytes });
}

/** Fresh queues for one run, the scenario's messages spread over them in turn. */
export async function fillQueues(sqs: SQSClient, prefix: string, scenario: Scenario, endpoint = '') {
  if (scenario.largePayloads) return fillWithPointers(sqs, prefix, scenario, endpoint);
  const queueNames = Array.from({ length: scenario.queues ?? 1 }, (_, index) =>
    scenario.queues && scenario.queues > 1 ? `${prefix}-q${index}` : prefix,
  );
  // A long visibility timeout: nothing is delivered twice while the benchmark runs.
  await provisionQueues(sqs, queueNames, { visibilityTimeoutSeconds: 600 });
  const queueUrls = await Promise.all(queueNames.map((name) => resolveQueueUrl(sqs, name)));
  await Promise.all(
    queueUrls.map((url, queue) =>
      sendAll(
        sqs,
        url,
        (index) => benchBody(scenario, index * queueUrls.length + queue, queueNames[queue] ?? ''),
        Math.floor(scenario.messages / queueUrls.length) + (queue < scenario.messages % queueUrls.length ? 1 : 0),
        // A batch carries at most 1 MiB in all.
        Math.max(1, Math.min(10, Math.floor(2 ** 20 / (scenario.bodyBytes ?? 1024)))),
      ),
    ),
  );
  return { queueNames, queueUrls };
}

/** One queue of pointer messages, each body put to S3 first, as the producer does with large payloads. */
async function fillWithPointers(sqs: SQSClient, queueName: string, scenario: Scenario, endpoint: string) {
  await provisionQueues(sqs, [queueName], { visibilityTimeoutSeconds: 600 });
  const queueUrl = await resolveQueueUrl(sqs, queueName);
  const store = await benchPayloadStore(endpoint);
  try {
    for (let index = 0; index < scenario.messages; index++) {
      const { body, attributes } = pointerMessage(await store.put(benchBody(scenario, index, queueName)));
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
    }
  } finally {
    store.close();
  }
  return { queueNames: [queueName], queueUrls: [queueUrl] };
}

/** One consumer through one scenario, on fresh queues. */
export async function runOnce(
  sqs: SqsProcess,
  consumer: ConsumerName,
  scenario: Scenario,
  /** Node flags for the consumer process (bench/profile.ts: --cpu-prof). */
  execArgv: string[] = [],
): Promise<RunResult> {
  const { queueNames, queueUrls } = await fillQueues(
    sqs.client,
    `bench-local-run-${++queueNumber}`,
    scenario,
    sqs.endpoint,
  );
  const settings: ConsumerSettings = {
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    queueName: queueNames[0] ?? '',
    queueUrl: queueUrls[0] ?? '',
    queueNames,
    concurrency: scenario.concurrency,
    ...(scenario.largePayloads ? { largePayloads: true } : {}),
  };
  const child = fork(fileURLToPath(new URL(`consumers/${consumer}.ts`, import.meta.url)), {
    env: { ...process.env, BENCH_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...execArgv],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await once(child, 'message');
  const pid = child.pid ?? 0;
  const started = performance.now();
  child.send('go');
  const steady = await steadyState(scenario.messages, async () => ({ consumer: await cpuSeconds(pid) }));
  let peakRssMb = 0;
  for (let left = scenario.messages; left > 0; left = await depth(sqs.client, queueUrls)) {
    if (exited)
      throw new Error(`${consumer} exited before the queue was empty (${scenario.name}, C = ${scenario.concurrency})`);
    await steady.saw(left);
    peakRssMb = Math.max(peakRssMb, await rssMb(pid).catch(() => 0));
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const ended = performance.now();
  const window = await steady.end();
  child.send('stop');
  const [{ latencies }] = (await once(child, 'message')) as [{ latencies: number[] }];
  await once(child, 'exit');
  return {
    consumer,
    seconds: round((ended - started) / 1000, 3),
    perSecond: window.perSecond,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    handled: latencies.length,
    peakRssMb: round(peakRssMb, 1),
    cpuUsPerMessage: round((window.cpuSeconds.consumer * 1e6) / window.messages, 0),
  };
}

/** Sends the bodies in batches of `size` (10, SQS's most), eight batches in flight at once. */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  bodies: (index: number) => string,
  count: number,
  size = 10,
) {
  for (let start = 0; start < count; start += 8 * size) {
    const batches = [];
    for (let batch = start; batch < Math.min(count, start + 8 * size); batch += size) {
      const entries = Array.from({ length: Math.min(size, count - batch) }, (_, index) => ({
        Id: String(index),
        MessageBody: bodies(batch + index),
      }));
      batches.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    }
    await Promise.all(batches);
  }
}

/** Messages left in the queues, visible or in flight; `visible` counts the visible ones only. */
export async function depth(sqs: SQSClient, queueUrls: readonly string[], visible = false): Promise<number> {
  const counts = await Promise.all(
    queueUrls.map(async (queueUrl) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const waiting = Number(Attributes.ApproximateNumberOfMessages);
      return visible ? waiting : waiting + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Every consumer through every scenario, `rounds` times, the consumers' order rotating each round;
 * per scenario and consumer, the round with the median throughput.
 */
export async function benchThroughput(scenarios: readonly Scenario[], rounds: number) {
  const sqs = await startSqsProcess();
  try {
    const results: Record<string, Record<ConsumerName, RunResult>> = {};
    for (const each of scenarios) {
      const runs: Record<ConsumerName, RunResult[]> = { 'be-worker': [], 'sqs-consumer': [], 'sdk-loop': [] };
      for (let round = 0; round < rounds; round++) {
        const order = CONSUMERS.map((_, index) => CONSUMERS[(index + round) % CONSUMERS.length] as ConsumerName);
        for (const consumer of order) runs[consumer].push(await runOnce(sqs, consumer, each));
      }
      results[each.name] = Object.fromEntries(
        CONSUMERS.map((consumer) => {
          const sorted = [...runs[consumer]].sort((a, b) => a.perSecond - b.perSecond);
          return [consumer, sorted[Math.floor(sorted.length / 2)] as RunResult];
        }),
      ) as Record<ConsumerName, RunResult>;
    }
    return results;
  } finally {
    await sqs.stop();
  }
}

/**
 * The same sleeps through C slots of one in-process pool with no SQS at all, median of `rounds`: how
 * close to C ÷ mean any worker can come on this machine (timers fire late; the last tasks leave slots idle).
 */
export async function benchInProcessPool(sleeps: readonly number[], concurrency: number, rounds: number) {
  const runs: number[] = [];
  for (let run = 0; run < rounds; run++) {
    let next = 0;
    const started = performance.now();
    const slot = async () => {
      while (next < sleeps.length) await sleep(sleeps[next++] ?? 0);
    };
    await Promise.all(Array.from({ length: concurrency }, slot));
    runs.push(sleeps.length / ((performance.now() - started) / 1000));
  }
  return round(runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? 0, 0);
}

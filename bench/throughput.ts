// Worker throughput: N tasks through one consumer process at concurrency C against a local SQS
// (fauxqs) in its own process; the generated worker's runtime side by side with sqs-consumer and
// a bare SDK loop. The queue is filled first; the clock runs from `go` to the queue being empty
// (every message handled and deleted). Latency is sent → handler done, per message.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeMessage } from '../templates/worker/src/runtime/codec.ts';
import { provisionQueues } from '../templates/worker/src/runtime/provision.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { type SqsProcess, startSqsProcess } from '../test/support/sqs.ts';
import type { ConsumerSettings } from './consumers/harness.ts';
import { percentile, round, rssMb } from './stats.ts';

export const CONSUMERS = ['be-worker', 'sqs-consumer', 'sdk-loop'] as const;
type ConsumerName = (typeof CONSUMERS)[number];

export interface Scenario {
  name: 'noop' | 'sleep';
  messages: number;
  concurrency: number;
  /** Each task's sleep in ms, drawn once per scenario so every consumer gets the same ones. */
  sleeps: readonly number[];
}

export interface RunResult {
  consumer: ConsumerName;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  handled: number;
  peakRssMb: number;
}

export function scenario(name: Scenario['name'], messages: number, concurrency: number): Scenario {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const sleeps = Array.from({ length: messages }, () => (name === 'noop' ? 0 : 10 + Math.round(random() * 90)));
  return { name, messages, concurrency, sleeps };
}

let queueNumber = 0;

/** One consumer through one scenario, on a fresh queue. */
async function runOnce(sqs: SqsProcess, consumer: ConsumerName, scenario: Scenario): Promise<RunResult> {
  const queueName = `bench-local-run-${++queueNumber}`;
  // A long visibility timeout: nothing is delivered twice while the benchmark runs.
  await provisionQueues(sqs.client, [queueName], { visibilityTimeoutSeconds: 600 });
  const queueUrl = await resolveQueueUrl(sqs.client, queueName);
  await sendAll(
    sqs.client,
    queueUrl,
    (index) => encodeMessage({ task: 'bench', args: [Date.now(), scenario.sleeps[index] ?? 0], queue: queueName }),
    scenario.messages,
  );

  const settings: ConsumerSettings = {
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    queueName,
    queueUrl,
    concurrency: scenario.concurrency,
  };
  const child = fork(fileURLToPath(new URL(`consumers/${consumer}.ts`, import.meta.url)), {
    env: { ...process.env, BENCH_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'message');
  const started = performance.now();
  child.send('go');
  let peakRssMb = 0;
  while ((await depth(sqs.client, queueUrl)) > 0) {
    peakRssMb = Math.max(peakRssMb, await rssMb(child.pid ?? 0).catch(() => 0));
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const seconds = (performance.now() - started) / 1000;
  child.send('stop');
  const [{ latencies }] = (await once(child, 'message')) as [{ latencies: number[] }];
  await once(child, 'exit');
  return {
    consumer,
    seconds: round(seconds, 3),
    perSecond: round(scenario.messages / seconds, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    handled: latencies.length,
    peakRssMb: round(peakRssMb, 1),
  };
}

/** Sends the bodies in batches of 10, eight batches in flight at once. */
export async function sendAll(sqs: SQSClient, queueUrl: string, bodies: (index: number) => string, count: number) {
  for (let start = 0; start < count; start += 80) {
    const batches = [];
    for (let batch = start; batch < Math.min(count, start + 80); batch += 10) {
      const entries = Array.from({ length: Math.min(10, count - batch) }, (_, index) => ({
        Id: String(index),
        MessageBody: bodies(batch + index),
      }));
      batches.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    }
    await Promise.all(batches);
  }
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
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

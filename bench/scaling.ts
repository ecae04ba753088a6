// Cost as work grows: the runtime (be-worker, in-process as bench/throughput.ts runs it) beside a
// bare SDK loop, one step at a time: concurrency 1 → 1,000 on no-op and on 10–100 ms tasks (the
// latter against their limit C ÷ mean task time), queues 1 → 50, SQS bodies 1 KiB → 900 KiB.
// Each point is one run on fresh queues (BENCH_QUICK: fewer, smaller); peak RSS of the consumer.
import { startSqsProcess } from '../test/support/sqs.ts';
import { round } from './stats.ts';
import { runOnce, type Scenario, scenario } from './throughput.ts';

export interface ScalingPoint {
  consumer: 'be-worker' | 'sdk-loop';
  tasks: Scenario['name'];
  concurrency: number;
  queues: number;
  bodyBytes: number;
  messages: number;
  perSecond: number;
  /** C ÷ mean task time, for sleeping tasks. */
  limitPerSecond?: number;
  peakRssMb: number;
  /** The consumer process's CPU time per message, µs (every thread). */
  cpuUsPerMessage: number;
}

export interface Scaling {
  concurrency: ScalingPoint[];
  queues: ScalingPoint[];
  bodySize: ScalingPoint[];
}

export const CONCURRENCY = { noop: [1, 10, 100, 1000], sleep: [1, 10, 20, 100, 200, 1000] } as const;
export const QUEUES = [1, 10, 50] as const;
export const BODY_BYTES = [1024, 100 * 1024, 900 * 1024] as const;
/** Past SQS's limit: through S3 with the large-payloads integration (be-worker only). */
export const LARGE_BODY_BYTES = 5 * 1024 * 1024;

const meanSeconds = (each: Scenario) => each.sleeps.reduce((sum, ms) => sum + ms, 0) / each.sleeps.length / 1000;

export async function benchScaling(quick: boolean): Promise<Scaling> {
  const sqs = await startSqsProcess();
  const points: Scaling = { concurrency: [], queues: [], bodySize: [] };
  const measure = async (list: ScalingPoint[], consumers: ScalingPoint['consumer'][], each: Scenario) => {
    const limit = each.name === 'sleep' ? each.concurrency / meanSeconds(each) : undefined;
    for (const consumer of consumers) {
      const run = await runOnce(sqs, consumer, each);
      list.push({
        consumer,
        tasks: each.name,
        concurrency: each.concurrency,
        queues: each.queues ?? 1,
        bodyBytes: each.bodyBytes ?? 0,
        messages: each.messages,
        perSecond: run.perSecond,
        ...(limit === undefined ? {} : { limitPerSecond: round(limit, 0) }),
        peakRssMb: run.peakRssMb,
        cpuUsPerMessage: run.cpuUsPerMessage,
      });
      console.log(
        `  ${each.name} C=${each.concurrency} q=${each.queues ?? 1} ${each.bodyBytes ?? 0} B ${consumer}: ${run.perSecond}/s, ${run.cpuUsPerMessage} µs CPU/msg, ${run.peakRssMb} MB`,
      );
    }
  };
  try {
    for (const c of CONCURRENCY.noop) {
      const messages = quick
        ? Math.max(200, 2 * c)
        : (({ 1: 1000, 10: 10_000 } as Record<number, number>)[c] ?? 20_000);
      await measure(points.concurrency, ['be-worker', 'sdk-loop'], scenario('noop', messages, c));
    }
    for (const c of CONCURRENCY.sleep) {
      // About 4 s at the limit (1 s quick), at least 5 × C messages, at most 10,000.
      const seconds = quick ? 1 : 4;
      const messages = Math.min(
        Math.max(Math.round((seconds * c) / 0.055), (quick ? 2 : 5) * c),
        quick ? 2000 : 10_000,
      );
      await measure(points.concurrency, ['be-worker', 'sdk-loop'], scenario('sleep', messages, c));
    }
    for (const queues of QUEUES) {
      await measure(points.queues, ['be-worker'], scenario('noop', quick ? 500 : 5000, 20, { queues }));
    }
    for (const bodyBytes of BODY_BYTES) {
      const messages = Math.round((quick ? 0.1 : 1) * (bodyBytes > 500_000 ? 200 : bodyBytes > 50_000 ? 1000 : 3000));
      await measure(points.bodySize, ['be-worker', 'sdk-loop'], scenario('noop', messages, 20, { bodyBytes }));
    }
    await measure(
      points.bodySize,
      ['be-worker'],
      scenario('noop', quick ? 4 : 40, 20, { bodyBytes: LARGE_BODY_BYTES, largePayloads: true }),
    );
    return points;
  } finally {
    await sqs.stop();
  }
}

// Scale-out on queue depth: a burst of sleeping tasks drained by replicas that KEDA's aws-sqs-queue
// rule sets (the simulation of test/support/keda.ts, polling the local SQS's real depth), against
// one fixed replica — the same driver with its bounds at 1 and 1, so both pay the same costs. Each
// replica is the generated worker as its pod runs it (`node dist/main.js`, all integrations off,
// one process). The clock runs from the burst's first send to an empty queue (nothing visible or
// in flight); the fleet already runs its minimum, ready. Runs alternate; the median is reported.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { provisionQueues } from '../templates/worker/src/runtime/provision.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { sleep } from '../templates/worker/src/runtime/timing.ts';
import { type Replica, startScaleOut } from '../test/support/keda.ts';
import type { ScaledObjectSpec, SqsTrigger } from '../test/support/keda-rule.ts';
import { freePort, waitFor } from '../test/support/process.ts';
import { startSqsProcess } from '../test/support/sqs.ts';
import { generateWorker, workerEnv } from './generated.ts';
import { median, round } from './stats.ts';
import { benchBody, depth, type Scenario, scenario, sendAll } from './throughput.ts';

/** What the bench's ScaledObject sets: KEDA's field names, times in seconds. */
export interface AutoscaleOptions extends Omit<ScaledObjectSpec, 'triggers'>, SqsTrigger {
  /** Slots per replica: WORKER_CONCURRENCY, one process; queueLength is this × 1 unless given. */
  concurrency: number;
}

export interface AutoscaleRun {
  fleet: string;
  minReplicaCount: number;
  maxReplicaCount: number;
  drainSeconds: number;
  perSecond: number;
  peakReplicas: number;
}

export interface Autoscale {
  messages: number;
  /** Each task's sleep, ms. */
  sleepMs: { min: number; max: number };
  runs: number;
  options: AutoscaleOptions;
  fixed: AutoscaleRun;
  keda: AutoscaleRun;
  /** Fixed drain time ÷ KEDA's: how much sooner the scaled fleet empties the queue. */
  speedup: number;
}

export const AUTOSCALE_DEFAULTS: AutoscaleOptions = {
  concurrency: 10,
  pollingInterval: 2,
  minReplicaCount: 1,
  maxReplicaCount: 4,
  cooldownPeriod: 300,
  activationQueueLength: 0,
  scaleOnInFlight: true,
};

const WORKER = 'autoscale';
let runNumber = 0;

/** A replica: the generated worker in its own process, resolved once /readyz says ready. */
async function startReplica(folder: string, endpoint: string, user: string, concurrency: number): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: folder,
    env: {
      ...workerEnv(endpoint),
      BE_WORKER_USER: user,
      WORKER_PROCESSES: '1',
      WORKER_CONCURRENCY: String(concurrency),
      HTTP_PORT: String(port),
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number | undefined>((resolve) => child.once('exit', (code) => resolve(code ?? undefined)));
  await waitFor(`a replica of ${user} to be ready`, async () =>
    (await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined,
  );
  return {
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** One burst through a fleet between `minReplicaCount` and `maxReplicaCount` replicas, on fresh queues. */
async function drainBurst(
  sqs: SQSClient,
  endpoint: string,
  folder: string,
  burst: Scenario,
  options: AutoscaleOptions,
  fleetName: string,
): Promise<AutoscaleRun> {
  const user = `scale${++runNumber}`;
  const queue = `${user}-local-bench`;
  // The generated worker's example queue too: it consumes both.
  await provisionQueues(sqs, [queue, `${user}-local-${WORKER}-add`], { visibilityTimeoutSeconds: 600 });
  const queueURL = await resolveQueueUrl(sqs, queue);
  const {
    concurrency,
    queueLength = concurrency,
    activationQueueLength,
    scaleOnInFlight,
    scaleOnDelayed,
    ...spec
  } = options;
  let ready = 0;
  const fleet = startScaleOut(
    sqs,
    {
      ...spec,
      triggers: [{ queueURL, queueLength, activationQueueLength, scaleOnInFlight, scaleOnDelayed }],
    },
    async () => {
      const replica = await startReplica(folder, endpoint, user, concurrency);
      ready++;
      return replica;
    },
  );
  try {
    const minimum = Math.max(options.minReplicaCount ?? 0, 1);
    await waitFor(`${minimum} replica(s) ready`, async () => (ready >= minimum ? true : undefined), 60_000);
    const began = performance.now();
    await sendAll(sqs, queueURL, (index) => benchBody(burst, index, queue), burst.messages);
    const deadline = began + 10 * 60_000;
    while ((await depth(sqs, [queueURL])) > 0) {
      if (performance.now() > deadline) throw new Error(`${fleetName}: the burst did not drain within 10 minutes`);
      await sleep(50);
    }
    const drainSeconds = (performance.now() - began) / 1000;
    return {
      fleet: fleetName,
      minReplicaCount: options.minReplicaCount ?? 0,
      maxReplicaCount: options.maxReplicaCount ?? 100,
      drainSeconds: round(drainSeconds),
      perSecond: round(burst.messages / drainSeconds, 0),
      peakReplicas: Math.max(...fleet.timeline.map((point) => point.running)),
    };
  } finally {
    await fleet.stop();
  }
}

/** The run with the median drain time of `runs`. */
const medianRun = (runs: AutoscaleRun[]) => {
  const middle = median(runs.map((run) => run.drainSeconds));
  return runs.find((run) => run.drainSeconds === middle) as AutoscaleRun;
};

export async function benchAutoscale(
  quick: boolean,
  options: AutoscaleOptions = AUTOSCALE_DEFAULTS,
): Promise<Autoscale> {
  const sqs = await startSqsProcess();
  const parent = await mkdtemp(join(tmpdir(), 'cbw-bench-autoscale-'));
  try {
    const folder = generateWorker(parent, WORKER, ['--none'], sqs.endpoint, true);
    const burst = scenario('sleep', quick ? 600 : 3000, options.concurrency);
    const rounds = quick ? 1 : 3;
    const fixedOptions = { ...options, minReplicaCount: 1, maxReplicaCount: 1 };
    const fixed: AutoscaleRun[] = [];
    const keda: AutoscaleRun[] = [];
    for (let round_ = 0; round_ < rounds; round_++) {
      fixed.push(await drainBurst(sqs.client, sqs.endpoint, folder, burst, fixedOptions, 'one fixed replica'));
      const scaled = `KEDA, ${options.minReplicaCount ?? 0} → ${options.maxReplicaCount ?? 100}`;
      keda.push(await drainBurst(sqs.client, sqs.endpoint, folder, burst, options, scaled));
      console.log(
        `  burst of ${burst.messages}: fixed ${fixed.at(-1)?.drainSeconds} s, KEDA ${keda.at(-1)?.drainSeconds} s (peak ${keda.at(-1)?.peakReplicas} replicas)`,
      );
    }
    const fixedRun = medianRun(fixed);
    const kedaRun = medianRun(keda);
    return {
      messages: burst.messages,
      sleepMs: { min: Math.min(...burst.sleeps), max: Math.max(...burst.sleeps) },
      runs: rounds,
      options,
      fixed: fixedRun,
      keda: kedaRun,
      speedup: round(fixedRun.drainSeconds / kedaRun.drainSeconds),
    };
  } finally {
    await sqs.stop();
    await rm(parent, { recursive: true, force: true });
  }
}

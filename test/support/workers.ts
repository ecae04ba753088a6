// Workers as their own processes (test/support/worker-process.ts) for the reliability tests: start
// one on a queue of test/support/tasks.ts, send it tasks, read its metrics and its run log.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { execa, type ResultPromise } from 'execa';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { freePort, REPO, sample, tempDir, waitFor } from './process.ts';
import { createQueues, type SqsProcess } from './sqs.ts';

export const MINUTE = 60_000;

/** Every worker process started, so that `killWorkers` can end them after each test. */
const running = new Set<ResultPromise>();

export interface WorkerProcess {
  process: ResultPromise;
  /** `<prefix>_<series>_tasks_count_total` of its task on its queue, in `state`. */
  metric(state: string, series?: 'worker' | 'consumer'): Promise<number>;
  /** Its whole /metrics text. */
  metrics(): Promise<string>;
  metricsUrl: string;
  ready(): Promise<boolean>;
  alive(): Promise<boolean>;
}

export interface WorkerTarget {
  /** The short queue name (default "naps") and the task it runs (default "nap"). */
  queue?: string;
  task?: string;
  /** Wait for /readyz before returning (default true). */
  ready?: boolean;
}

export async function startWorkerProcess(
  sqs: { endpoint: string },
  user: string,
  env: Record<string, string>,
  { queue = 'naps', task = 'nap', ready = true }: WorkerTarget = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  const child = execa('node', [join(REPO, 'test', 'support', 'worker-process.ts')], {
    env: {
      APP_ENV: 'local',
      BE_WORKER_USER: user,
      SQS_ENDPOINT: sqs.endpoint,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
      TEST_QUEUE: `${queue}:${task}`,
      ...env,
    },
    reject: false,
    all: true,
    // A stop may take the grace period and more: never SIGKILL it behind the test's back.
    forceKillAfterDelay: false,
  });
  running.add(child);
  const base = `http://127.0.0.1:${port}`;
  const worker: WorkerProcess = {
    process: child,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    metricsUrl: `${base}/metrics`,
    async metric(state, series = 'worker') {
      const series_ = `test_worker_${series}_tasks_count_total{name="${task}",queue="${queue}",state="${state}"}`;
      return sample(await worker.metrics(), series_) ?? 0;
    },
    ready: async () => (await fetch(`${base}/readyz`)).ok,
    alive: async () => (await fetch(`${base}/healthz`)).ok,
  };
  if (ready) await waitFor('the worker to be ready', async () => ((await worker.ready()) ? true : undefined));
  return worker;
}

/** The processes a prefork primary forked (its pool), by pid. */
export async function poolProcesses(pid: number | undefined): Promise<number[]> {
  const found = await execa('pgrep', ['-P', String(pid)], { reject: false });
  return found.stdout.split('\n').filter(Boolean).map(Number);
}

/** Kills every worker process still running: for afterEach. */
export async function killWorkers(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  await Promise.allSettled([...running]);
  running.clear();
}

/** Sends one task per entry of `argsList` to `queue`; returns their task ids, `<user>-<index>-<uuid>`. */
export async function sendTasks(
  sqs: SqsProcess,
  user: string,
  argsList: unknown[][],
  { queue = 'naps', task = 'nap', eta }: { queue?: string; task?: string; eta?: Date } = {},
): Promise<string[]> {
  const full = fullQueueName(queue, { env: 'local', user });
  const url = await resolveQueueUrl(sqs.client, full);
  const ids = argsList.map((_, index) => `${user}-${index}-${crypto.randomUUID()}`);
  for (let start = 0; start < ids.length; start += 10) {
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ids.slice(start, start + 10).map((id, offset) => ({
          Id: String(offset),
          MessageBody: encodeMessage({ task, args: argsList[start + offset] ?? [], queue: full, id, eta: eta ?? null }),
        })),
      }),
    );
  }
  return ids;
}

/** Sends nap tasks of the given lengths (ms); returns their task ids. */
export function sendNaps(sqs: SqsProcess, user: string, lengths: number[]): Promise<string[]> {
  return sendTasks(
    sqs,
    user,
    lengths.map((ms) => [ms]),
  );
}

/** The lines of a run log (test/support/tasks.ts records there what ran). */
export const ran = async (log: string) => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** Creates `<user>-local-<queue>` and its DLQ; returns a fresh run log path. */
export async function setUp(sqs: SqsProcess, user: string, visibilityTimeoutSeconds: number, queue = 'naps') {
  await createQueues(sqs, [fullQueueName(queue, { env: 'local', user })], { visibilityTimeoutSeconds });
  return join(await tempDir('cbw-runlog-'), 'ran.log');
}

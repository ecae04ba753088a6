// The generated worker as it runs in production (`node dist/main.js`): all integrations off; all
// on with no settings given (those that need one stay off); all on with every setting given,
// against local peers (Redis, an HTTP and a TCP sink for Sentry, OTLP and fluentd). Each: its
// node_modules size, start-up time to ready (/readyz answering 200), resident memory when idle
// after start-up and at steady load (5,000 `add` tasks draining at concurrency 20). And what each
// of the all-on worker's libraries costs, loaded alone in a fresh process.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../templates/worker/src/runtime/codec.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { freePort } from '../test/support/process.ts';
import { startRedis } from '../test/support/redis.ts';
import { type SqsProcess, startSqsProcess } from '../test/support/sqs.ts';
import { generateWorker, workerEnv } from './generated.ts';
import { median, round, rssMb } from './stats.ts';
import { sendAll } from './throughput.ts';

const LOAD_TASKS = 5000;
export const EVERY_SETTING = 'all on, every setting given';

export interface Footprint {
  workers: Record<string, WorkerFootprint>;
  libraries: { nodeMb: number; addsMb: Record<string, number> };
  /** Rows left out, and why. */
  notMeasured?: Record<string, string>;
}

export interface WorkerFootprint {
  nodeModulesMb: number;
  startupMs: number;
  idleRssMb: number;
  loadRssMb: number;
}

export async function benchFootprint(startups: number): Promise<Footprint> {
  const sqs = await startSqsProcess();
  const parent = await mkdtemp(join(tmpdir(), 'cbw-bench-footprint-'));
  try {
    const workers: Record<string, WorkerFootprint> = {};
    const off = generateWorker(parent, 'off', ['--none'], sqs.endpoint);
    workers['all off'] = await measureWorker(off, {}, sqs, 'bench-local-off-add', startups);
    await rm(off, { recursive: true, force: true }); // a generated worker takes 250–350 MB
    const on = generateWorker(parent, 'on', ['--all'], sqs.endpoint);
    workers['all on, no settings given'] = await measureWorker(on, {}, sqs, 'bench-local-on-add', startups);
    const libraries = librariesAlone(on);
    // Without redis-server (Debian's), that row is left out, saying why; the others stand.
    const peers = await startPeers().catch((error: Error) => error);
    if (peers instanceof Error) return { workers, libraries, notMeasured: { [EVERY_SETTING]: peers.message } };
    try {
      const settings = peers.settings(sqs.endpoint);
      workers[EVERY_SETTING] = await measureWorker(on, settings, sqs, 'bench-local-on-add', startups);
    } finally {
      await peers.stop();
    }
    return { workers, libraries };
  } finally {
    await sqs.stop();
    await rm(parent, { recursive: true, force: true });
  }
}

async function measureWorker(
  worker: string,
  settings: NodeJS.ProcessEnv,
  sqs: SqsProcess,
  queue: string,
  startups: number,
): Promise<WorkerFootprint> {
  const [kilobytes] = execFileSync('du', ['-sk', join(worker, 'node_modules')])
    .toString()
    .split('\t');
  const env = { ...workerEnv(sqs.endpoint), WORKER_CONCURRENCY: '20', ...settings };
  return {
    nodeModulesMb: round(Number(kilobytes) / 1024, 1),
    ...(await measureRuns(worker, env, sqs, queue, startups)),
  };
}

/**
 * The peers an all-on worker's settings point at: Redis (rate limits, results, idempotency keys),
 * and sinks that take whatever Sentry, the OTLP exporter and fluentd's forward protocol send. The
 * large payloads' bucket is on the local SQS's S3. Vault stays off: it needs a Vault server, and
 * loads no library of its own.
 */
async function startPeers() {
  const redis = await startRedis();
  const http = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end('{}'));
  }).listen(0, '127.0.0.1');
  const tcp = createTcpServer((socket) => socket.resume()).listen(0, '127.0.0.1');
  await Promise.all([once(http, 'listening'), once(tcp, 'listening')]);
  const port = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
  return {
    settings: (endpoint: string): NodeJS.ProcessEnv => ({
      SENTRY_DSN: `http://bench@127.0.0.1:${port(http)}/1`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port(http)}`,
      FLUENT_HOST: '127.0.0.1',
      FLUENT_PORT: String(port(tcp)),
      FLUENT_LOGS: 'true',
      REDIS_URL: redis.url,
      RATELIMIT_BACKEND: 'redis',
      RESULT_BACKEND_URL: redis.url,
      LARGE_PAYLOAD_S3_ENDPOINT: endpoint,
    }),
    async stop() {
      http.closeAllConnections();
      await Promise.all([new Promise((resolve) => http.close(resolve)), new Promise((resolve) => tcp.close(resolve))]);
      await redis.stop();
    },
  };
}

/**
 * RSS (MB) each of the worker's dependencies adds when loaded alone in a fresh Node process in its
 * folder, beside `node` itself: they share parts (the AWS SDK's core, OpenTelemetry), so they do
 * not add up.
 */
function librariesAlone(worker: string) {
  const rssOf = (code: string) =>
    Number(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `${code}; await new Promise((resolve) => setTimeout(resolve, 300)); const { rss } = process.memoryUsage(); console.log(rss)`,
        ],
        { cwd: worker },
      ).toString(),
    ) /
    2 ** 20;
  const alone = median([0, 1, 2].map(() => rssOf('')));
  const { dependencies = {} } = JSON.parse(readFileSync(join(worker, 'package.json'), 'utf8'));
  const addsMb = Object.fromEntries(
    Object.keys(dependencies).map((name) => [name, round(rssOf(`await import(${JSON.stringify(name)})`) - alone, 1)]),
  );
  return { nodeMb: round(alone, 1), addsMb };
}

async function measureRuns(worker: string, env: NodeJS.ProcessEnv, sqs: SqsProcess, queue: string, startups: number) {
  const startupMs: number[] = [];
  let idleRssMb = 0;
  let loadRssMb = 0;
  for (let run = 0; run < startups; run++) {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: worker,
      env: { ...env, HTTP_PORT: String(port) },
      stdio: 'ignore',
    });
    while (
      !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (response) => response.ok,
        () => false,
      ))
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    startupMs.push(performance.now() - started);
    if (run === startups - 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idleRssMb = await rssMb(child.pid ?? 0);
      loadRssMb = await rssUnderLoad(sqs, queue, child.pid ?? 0, port);
    }
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { startupMs: round(median(startupMs), 0), idleRssMb: round(idleRssMb, 1), loadRssMb: round(loadRssMb, 1) };
}

/**
 * The peak RSS while the worker drains LOAD_TASKS `add` tasks sent as fast as SQS takes them, each
 * with its own task id as every Celery producer sends them (one id sent again is a copy, which the
 * worker deletes without running). A run that stops going forward for a minute fails the section.
 */
async function rssUnderLoad(sqs: SqsProcess, queue: string, pid: number, port: number): Promise<number> {
  const url = await resolveQueueUrl(sqs.client, queue);
  const sending = sendAll(sqs.client, url, () => encodeMessage({ task: 'add', args: [2, 3], queue }), LOAD_TASKS);
  let peak = 0;
  const succeeded = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(text.match(/_worker_tasks_count_total\{[^}]*state="succeeded"\} (\d+)/)?.[1] ?? 0);
  };
  let last = { count: -1, at: performance.now() };
  for (let count = await succeeded(); count < LOAD_TASKS; count = await succeeded()) {
    if (count > last.count) last = { count, at: performance.now() };
    else if (performance.now() - last.at > STALL_MS) {
      throw new Error(`the worker under load stopped at ${count} of ${LOAD_TASKS} tasks succeeded`);
    }
    peak = Math.max(peak, await rssMb(pid));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await sending;
  return peak;
}

const STALL_MS = 60_000;

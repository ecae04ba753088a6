// The generated worker as it runs in production (`node dist/main.js`), all integrations off and
// all on: its node_modules size, start-up time to ready (/readyz answering 200), resident memory
// when idle after start-up and at steady load (5,000 `add` tasks draining at concurrency 20).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../templates/worker/src/runtime/codec.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { freePort } from '../test/support/process.ts';
import { type SqsProcess, startSqsProcess } from '../test/support/sqs.ts';
import { generateWorker, workerEnv } from './generated.ts';
import { median, round, rssMb } from './stats.ts';
import { sendAll } from './throughput.ts';

const LOAD_TASKS = 5000;

export async function benchFootprint(startups: number) {
  const sqs = await startSqsProcess();
  const parent = await mkdtemp(join(tmpdir(), 'cbw-bench-footprint-'));
  try {
    const results: Record<string, unknown> = {};
    for (const [label, flags] of [
      ['all off', ['--none']],
      ['all on', ['--all']],
    ] as const) {
      const name = label === 'all off' ? 'off' : 'on';
      const worker = generateWorker(parent, name, flags, sqs.endpoint);
      const env = { ...workerEnv(sqs.endpoint), WORKER_CONCURRENCY: '20' };
      results[label] = {
        nodeModulesMb: round(
          Number(
            execFileSync('du', ['-sk', join(worker, 'node_modules')])
              .toString()
              .split('\t')[0],
          ) / 1024,
          1,
        ),
        ...(await measureRuns(worker, env, sqs, `bench-local-${name}-add`, startups)),
      };
      await rm(worker, { recursive: true, force: true }); // a generated worker takes 250–350 MB
    }
    return results;
  } finally {
    await sqs.stop();
    await rm(parent, { recursive: true, force: true });
  }
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

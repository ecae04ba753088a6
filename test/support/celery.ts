// Real Python Celery for the interop tests (test/interop/): its interpreters, a `celery worker`
// process, a Python producer (test/support/celery/send.py), and the log its tasks write.
//   Query protocol: Debian's python3-celery 5.2 (kombu 5.2, botocore 1.29), /usr/bin/python3.
//   JSON protocol: Celery >= 5.5 in the virtualenv .ci/celery-venv makes.
// .ci/run sets CELERY_QUERY_PYTHON and CELERY_JSON_PYTHON; without them they are found the same way.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { REPO, waitFor } from './process.ts';

export type Protocol = 'query' | 'json';

export interface CeleryPython {
  protocol: Protocol;
  python: string;
  version: string;
}

const APP_DIR = join(REPO, 'test', 'support', 'celery');

const WANTED: Record<Protocol, { path(): string; fits(major: number, minor: number): boolean; missing: string }> = {
  query: {
    path: () => process.env.CELERY_QUERY_PYTHON || '/usr/bin/python3',
    fits: (major, minor) => major === 5 && minor === 2,
    missing:
      "Debian's Celery 5.2 (SQS's Query protocol) is missing from /usr/bin/python3: install it with `apt-get install python3-celery python3-boto3 python3-pycurl` (.ci/run does).",
  },
  json: {
    path: () =>
      process.env.CELERY_JSON_PYTHON ||
      join(
        process.env.CREATE_BE_WORKER_CELERY_VENV || join(homedir(), '.cache/create-be-worker/celery-venv'),
        'bin/python',
      ),
    fits: (major, minor) => major > 5 || (major === 5 && minor >= 5),
    missing:
      "Celery >= 5.5 (SQS's JSON protocol) is missing: run `.ci/celery-venv`, which installs it into a virtualenv in ~/.cache/create-be-worker (.ci/run does).",
  },
};

/** The interpreter of `protocol`'s Celery, or an error that says how to install it. */
export async function celeryPython(protocol: Protocol): Promise<CeleryPython> {
  const wanted = WANTED[protocol];
  const python = wanted.path();
  const probe = await execa(python, ['-c', 'import celery, kombu, boto3, pycurl; print(celery.__version__)'], {
    reject: false,
  });
  const version = String(probe.stdout).trim();
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (probe.exitCode !== 0 || !wanted.fits(major, minor)) throw new Error(wanted.missing);
  return { protocol, python, version };
}

/** What the Python app needs to know (test/support/celery/interop.py). */
export interface CeleryEnv {
  SQS_ENDPOINT: string;
  /** Celery's task_routes: task name or glob → SQS queue name. */
  ROUTES: Record<string, string>;
  PY_QUEUE: string;
  HANDOFF_QUEUE: string;
  RESULT_LOG: string;
  /** Celery's result_backend (redis://…/db); unset, the app stores no results. */
  RESULT_BACKEND?: string;
}

const asEnv = (env: CeleryEnv) => ({ ...env, ROUTES: JSON.stringify(env.ROUTES), PYTHONDONTWRITEBYTECODE: '1' });

export interface CeleryWorker {
  /** The main process's id (a prefork pool's children are its children). */
  pid: number;
  stop(): Promise<void>;
  output(): string;
}

/** Another Celery app than interop.py (the benchmark's), and its pool. */
export interface CeleryApp {
  app: string;
  cwd: string;
  /** e.g. ['-P', 'prefork', '-c', '2']. */
  pool: string[];
}

/**
 * `celery worker` (one process, the solo pool, unless `app` says otherwise) on the Python queue,
 * ready when it says so.
 */
export async function startCeleryWorker(
  { python }: CeleryPython,
  env: CeleryEnv,
  app: CeleryApp = { app: 'interop', cwd: APP_DIR, pool: ['-P', 'solo'] },
): Promise<CeleryWorker> {
  const args = ['-m', 'celery', '-A', app.app, 'worker', ...app.pool, '-Q', env.PY_QUEUE, '-l', 'info'];
  const child: ResultPromise = execa(python, args, { cwd: app.cwd, env: asEnv(env), all: true, reject: false });
  let output = '';
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const worker = {
    pid: child.pid ?? 0,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
  try {
    await waitFor('the celery worker to be ready', async () => {
      if (exited) throw new Error(`celery worker exited: ${output.slice(-2000)}`);
      return /celery@\S+ ready/.test(output) ? true : undefined;
    });
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** A signature for send.py. */
export interface PySignature {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  immutable?: boolean;
}

export type PyOperation =
  | {
      send_task: string;
      args?: unknown[];
      kwargs?: Record<string, unknown>;
      options?: Record<string, unknown>;
      link?: PySignature;
      link_error?: PySignature;
    }
  | { chain: PySignature[]; options?: Record<string, unknown>; link_error?: PySignature };

/** Sends as a Python producer does; the task ids of each operation (a chain's in step order). */
export async function celerySend({ python }: CeleryPython, env: CeleryEnv, operations: PyOperation[]) {
  const { stdout } = await execa(python, ['send.py', JSON.stringify(operations)], { cwd: APP_DIR, env: asEnv(env) });
  return JSON.parse(String(stdout)) as string[][];
}

/** One run of a Python task, as interop.py records it. */
export interface PyRun {
  task: string;
  id: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  result: unknown;
  parent_id: string | null;
  root_id: string | null;
  retries: number;
}

export async function pythonRuns(log: string): Promise<PyRun[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PyRun);
}

/** Waits for the Python run of task `id`. */
export function pythonRun(log: string, id: string, timeoutMs = 30_000): Promise<PyRun> {
  return waitFor(
    `the Python run of ${id}`,
    async () => (await pythonRuns(log)).find((run) => run.id === id),
    timeoutMs,
  );
}

/** One outcome of test/support/celery/results.py. */
export type PyResult =
  | { value: unknown }
  | { id: string }
  | { state: string }
  | { error: { type: string; module: string; args: unknown[]; str: string } };

/** Reads results as a Python caller does (AsyncResult.get(), GroupResult.get()): see results.py. */
export async function celeryResults(
  { python }: CeleryPython,
  env: CeleryEnv,
  operations: Record<string, unknown>[],
): Promise<PyResult[]> {
  const { stdout } = await execa(python, ['results.py', JSON.stringify(operations)], {
    cwd: APP_DIR,
    env: asEnv(env),
  });
  return JSON.parse(String(stdout)) as PyResult[];
}

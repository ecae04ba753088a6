// Helpers for tests that run real processes: free ports, waiting on HTTP, temp dirs.
import { mkdtemp } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'bin', 'create-be-worker.js');

/** A fresh directory outside the repository. */
/** An environment with no AWS credentials anywhere, and no instance-metadata lookups off this machine. */
export function noAwsEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
  };
}

export function tempDir(prefix = 'cbw-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** The value of one Prometheus sample line, e.g. `name{a="b"} 1`, or undefined if absent. */
export function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A local HTTP server standing in for a service: `reply` answers each request from its body. */
export async function startStub(
  reply: (request: { method: string; url: string; headers: IncomingHttpHeaders; body: string }) => {
    status?: number;
    json?: unknown;
  },
): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const { status = 200, json = {} } = reply({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

/**
 * Runs a command in a process group of its own and ends the whole group afterwards, and after
 * `timeoutMs` at the latest: `npm run` leaves its script's processes behind when only it is killed.
 */
export async function runGrouped(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; extendEnv?: boolean },
  timeoutMs = 30_000,
): Promise<{ exitCode: number | undefined; stdout: string; stderr: string; all: string }> {
  const child = execa(file, args, { ...options, detached: true, reject: false, all: true });
  const killGroup = () => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // The group has ended.
    }
  };
  const timer = setTimeout(killGroup, timeoutMs);
  try {
    const { exitCode, stdout, stderr, all } = await child;
    return { exitCode, stdout, stderr, all };
  } finally {
    clearTimeout(timer);
    killGroup();
  }
}

// `be-worker ui`: a small HTTP server for one page (src/ui/page, shipped as dist/ui) and the JSON it
// polls. Every number comes from the CLI's own library: status() as `status --json`, the dead
// letters as `dlq ls` and `dlq peek`, redrive and purge as `dlq redrive` and `dlq purge`.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isShared } from '../cli/provision-output.ts';
import type { ListedSchedule } from '../cli/schedule-output.ts';
import { listDeadLetters, peekDeadLetters } from '../dlq/index.ts';
import { CancelledError, EnvironmentError, UserError } from '../errors.ts';
import { status } from '../status.ts';
import { hostsOf, judge, newToken } from './guard.ts';
import { type MetricsSummary, type Read, readMetrics, summarize } from './metrics.ts';
import { type OperationRequest, Operations, type UiTarget } from './operations.ts';

export interface UiOptions {
  /** The worker's queues and where SQS is, as the dlq and status commands take them. */
  target: UiTarget;
  worker: string;
  host: string;
  /** 0: any free port. */
  port: number;
  readOnly: boolean;
  /** Workers' /metrics to read. */
  metricsUrls: readonly string[];
  /** The worker's schedules with their next runs, where it has them. */
  schedules(): Promise<ListedSchedule[]>;
  /** Where index.html, ui.css and ui.js are. */
  pageDir: string;
  token?: string;
}

export interface UiServer {
  /** The page's address, token included. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** How many dead letters a group's "open" reads, as `dlq peek -n`. */
export const PEEK_COUNT = 100;

const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/ui.css': 'ui.css',
  '/ui.js': 'ui.js',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function pageFiles(): string[] {
  return Object.values(PAGE_FILES);
}

export async function startUiServer(options: UiOptions): Promise<UiServer> {
  const token = options.token ?? newToken();
  const operations = new Operations(options.target);
  const metricsReads = new Map<string, Read>();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const hosts = hostsOf(options.host, port);
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  const api: Record<string, (request: IncomingMessage, query: URLSearchParams) => Promise<unknown>> = {
    'GET /api/overview': async () => ({
      worker: options.worker,
      env: options.target.env,
      shared: isShared(options.target.env),
      readOnly: options.readOnly,
      peekCount: PEEK_COUNT,
      metricsUrls: options.metricsUrls,
    }),
    'GET /api/status': async () => ({ at: new Date().toISOString(), ...(await status(options.target)) }),
    'GET /api/dead-letters': async () => operations.read(() => listDeadLetters(options.target)),
    'GET /api/letters': async (_, query) =>
      operations.read(() => peekDeadLetters({ ...options.target, queue: required(query, 'queue'), count: PEEK_COUNT })),
    'GET /api/metrics': async () => Promise.all(options.metricsUrls.map((url) => readSummary(url, metricsReads))),
    'GET /api/schedules': async () => {
      try {
        return { schedules: await options.schedules() };
      } catch (error) {
        return { schedules: [], error: (error as Error).message };
      }
    },
    'GET /api/operation': async (_, query) => {
      const found = operations.get(required(query, 'id'));
      if (!found) throw new UserError('No such operation.');
      return found;
    },
    'POST /api/operation': async (request) => {
      if (options.readOnly) throw new ReadOnlyError();
      return operations.start(operationRequest(await jsonBody(request)));
    },
  };

  server.on('request', async (request: IncomingMessage, response: ServerResponse) => {
    const verdict = judge(
      { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers },
      token,
      hosts,
    );
    if (!verdict.allowed) {
      send(response, verdict.status, { error: `Refused: ${verdict.reason}.` });
      return;
    }
    const path = verdict.path;
    const page = PAGE_FILES[path];
    if (page && request.method === 'GET') {
      // The page's own address ends in a slash, so its relative links keep the token.
      if (!new URL(request.url ?? '/', 'http://x').pathname.endsWith('/') && path === '/') {
        response.writeHead(308, { location: `/${token}/`, ...SECURITY_HEADERS }).end();
        return;
      }
      const body = await readFile(join(options.pageDir, page));
      response.writeHead(200, {
        'content-type': TYPES[page.split('.').pop() ?? ''] ?? 'text/plain',
        ...SECURITY_HEADERS,
      });
      response.end(body);
      return;
    }
    const handler = api[`${request.method} ${path}`];
    if (!handler) {
      send(response, 404, { error: `No ${request.method} ${path}.` });
      return;
    }
    try {
      send(response, 200, await handler(request, new URL(request.url ?? '/', 'http://x').searchParams));
    } catch (error) {
      send(response, statusOf(error), { error: (error as Error).message });
    }
  });

  return {
    url: `http://${shownHost}:${port}/${token}/`,
    server,
    async close() {
      operations.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

class ReadOnlyError extends UserError {
  override message = 'This page is read-only (be-worker ui --read-only): it cannot redrive or purge.';
}

function statusOf(error: unknown): number {
  if (error instanceof ReadOnlyError) return 403;
  if (error instanceof UserError) return 409;
  if (error instanceof CancelledError) return 503;
  if (error instanceof EnvironmentError) return 502;
  return 500;
}

function send(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  response.end(JSON.stringify(body));
}

function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (!value) throw new UserError(`Missing ?${name}=.`);
  return value;
}

async function jsonBody(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) {
    text += chunk;
    if (text.length > 10_000) throw new UserError('Request too large.');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError('The body is not JSON.');
  }
}

/** The POST's body, checked: an action, a queue, what was confirmed. */
function operationRequest(body: unknown): OperationRequest {
  const { action, queue, task, confirmed } = (body ?? {}) as Partial<OperationRequest>;
  if (action !== 'redrive' && action !== 'purge') throw new UserError('action must be "redrive" or "purge".');
  if (typeof queue !== 'string' || !queue) throw new UserError('queue is missing.');
  if (task !== undefined && (typeof task !== 'string' || action !== 'redrive')) {
    throw new UserError('task is a string, for a redrive.');
  }
  if (typeof confirmed?.env !== 'string' || !Number.isInteger(confirmed.messages)) {
    throw new UserError('Not confirmed: the env and the count shown must be sent back.');
  }
  return { action, queue, task, confirmed: { env: confirmed.env, messages: confirmed.messages } };
}

/** One worker's /metrics summed up, rates against its previous read; unreachable is said, not thrown. */
async function readSummary(
  url: string,
  reads: Map<string, Read>,
): Promise<MetricsSummary | { url: string; error: string }> {
  try {
    const latest = await readMetrics(url);
    const summary = summarize(url, latest, reads.get(url));
    reads.set(url, latest);
    return summary;
  } catch (error) {
    return { url, error: (error as Error).message };
  }
}

// The health and metrics server (the Python template's Flask app). It answers probes and scrapes,
// nothing else, and is built so that a client cannot starve the worker: GET and HEAD only, no body
// read, small header limits, short timeouts and a cap on open connections.
import { createServer, type Server, type ServerResponse } from 'node:http';

export interface HttpOptions {
  /** The address to bind: all interfaces by default (probes and scrapes come from outside the pod). */
  host?: string;
  port: number;
  /** Prometheus text, and its content type. */
  metrics(): Promise<{ text: string; contentType: string }>;
  isReady(): boolean;
  /** False when the process should be restarted (a stuck poller, a task given up). */
  isAlive(): boolean;
}

/** Probes and scrapes need few connections; the rest of the process's file handles are for SQS and tasks. */
export const MAX_HTTP_CONNECTIONS = 64;

/** `/healthz` (alive), `/readyz` (every poller receiving), `/metrics` (Prometheus text). */
export function startHttpServer({ host, port, metrics, isReady, isAlive }: HttpOptions): Promise<Server> {
  const limits = {
    maxHeaderSize: 8 * 1024,
    headersTimeout: 5000,
    requestTimeout: 10_000,
    connectionsCheckingInterval: 1000,
  };
  const server = createServer(limits, async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(response, 405, 'only GET and HEAD\n', undefined, true);
    }
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return isAlive() ? send(response, 200, 'ok\n') : send(response, 503, 'stuck\n');
    if (path === '/readyz') return isReady() ? send(response, 200, 'ready\n') : send(response, 503, 'not ready\n');
    if (path === '/metrics') {
      try {
        const { text, contentType } = await metrics();
        return send(response, 200, text, contentType);
      } catch (error) {
        return send(response, 500, `${(error as Error).message}\n`);
      }
    }
    return send(response, 404, 'not found\n');
  });
  server.maxConnections = MAX_HTTP_CONNECTIONS;
  server.keepAliveTimeout = 5000;
  // An idle connection is closed: a client that opens many and sends nothing gets nothing held.
  server.setTimeout(5000, (socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
  close = false,
): void {
  response.writeHead(status, { 'content-type': type, ...(close ? { connection: 'close' } : {}) }).end(body);
}

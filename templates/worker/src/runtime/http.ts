// The health and metrics server (the Python template's Flask app).
import { createServer, type Server, type ServerResponse } from 'node:http';

export interface HttpOptions {
  port: number;
  /** Prometheus text, and its content type. */
  metrics(): Promise<string>;
  metricsContentType: string;
  isReady(): boolean;
}

/** `/healthz` (alive), `/readyz` (every poller receiving), `/metrics` (Prometheus text). */
export function startHttpServer({ port, metrics, metricsContentType, isReady }: HttpOptions): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(response, 200, 'ok\n');
    if (path === '/readyz') return isReady() ? send(response, 200, 'ready\n') : send(response, 503, 'not ready\n');
    if (path === '/metrics') {
      try {
        return send(response, 200, await metrics(), metricsContentType);
      } catch (error) {
        return send(response, 500, `${(error as Error).message}\n`);
      }
    }
    return send(response, 404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

function send(response: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': type }).end(body);
}

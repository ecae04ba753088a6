// The health and metrics server answers probes and scrapes and nothing else, and no client can make
// it hold more than a few file handles.
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_HTTP_CONNECTIONS, startHttpServer } from '../../templates/worker/src/runtime/http.ts';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function start(state: { ready?: boolean; alive?: boolean } = {}) {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: async () => ({ text: 'up 1\n', contentType: 'text/plain; version=0.0.4' }),
    isReady: () => state.ready ?? true,
    isAlive: () => state.alive ?? true,
  });
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, address };
}

describe('the HTTP server', () => {
  it('binds the address it is given', async () => {
    const { address } = await start();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
  });

  it('answers GET and HEAD, and refuses every other method with 405 and Allow', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${url}/metrics`, {
        method,
        body: method === 'DELETE' ? null : 'x'.repeat(100_000),
      });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('says 503 on /healthz when the worker is stuck, and on /readyz when it is not ready', async () => {
    const state = { ready: true, alive: true };
    const { url } = await start(state);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    state.alive = false;
    state.ready = false;
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('keeps at most MAX_HTTP_CONNECTIONS open, and closes those that send nothing', async () => {
    const { address } = await start();
    const port = typeof address === 'object' && address ? address.port : 0;
    let closed = 0;
    for (let i = 0; i < MAX_HTTP_CONNECTIONS + 100; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('close', () => closed++);
      socket.on('error', () => {});
      sockets.push(socket);
    }
    await expect.poll(() => closed, { timeout: 5000 }).toBeGreaterThanOrEqual(100);
    // The rest never send a request line: dropped once the headers timeout passes.
    await expect.poll(() => closed, { timeout: 10_000, interval: 250 }).toBe(MAX_HTTP_CONNECTIONS + 100);
  }, 20_000);
});

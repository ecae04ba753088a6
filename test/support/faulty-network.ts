// A TCP proxy between a worker and its SQS, for the fault tests: it forwards, refuses connections,
// resets them, black-holes them (holds them open and answers nothing, as a brownout or a middlebox
// that dropped its state does), or answers chosen SQS calls with an error.
import { connect, createServer, type Socket } from 'node:net';

export type NetworkMode = 'pass' | 'refuse' | 'reset' | 'blackhole';

export interface FaultyNetwork {
  /** http://127.0.0.1:<port>: the worker's SQS_ENDPOINT. */
  endpoint: string;
  /**
   * pass: forward. refuse: stop listening (ECONNREFUSED) and close what is open. reset: close every
   * connection at once, open or new (ECONNRESET). blackhole: forward nothing either way, on open
   * connections too, and hold new ones; they stay dead after it, as on a real network.
   */
  set(mode: NetworkMode): Promise<void>;
  /** SQS operations (`DeleteMessage`, `DeleteMessageBatch`…) answered with HTTP 500; [] to forward them again. */
  fail(operations: readonly string[]): void;
  /**
   * SQS operations held: after the first `after` of them, each is neither forwarded nor answered, as
   * if the process were frozen there (for killing it at an exact point).
   */
  hold(operations: readonly string[], after?: number): void;
  /** Requests seen per operation, those answered with an error, and those held. */
  counts(): { seen: Record<string, number>; failed: Record<string, number>; held: number };
  close(): Promise<void>;
}

const ERROR_BODY = JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: 'injected by the test' });
const ERROR_RESPONSE = [
  'HTTP/1.1 500 Internal Server Error',
  'Content-Type: application/x-amz-json-1.0',
  `Content-Length: ${Buffer.byteLength(ERROR_BODY)}`,
  'x-amzn-RequestId: injected',
  '',
  ERROR_BODY,
].join('\r\n');

export async function startFaultyNetwork(upstream: string): Promise<FaultyNetwork> {
  const target = new URL(upstream);
  let mode: NetworkMode = 'pass';
  let failing = new Set<string>();
  let holding = { operations: new Set<string>(), after: 0, passed: 0 };
  let held = 0;
  const seen: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const open = new Set<Socket>();

  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode === 'reset') return client.resetAndDestroy();
    const server = connect(Number(target.port), target.hostname);
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    server.on('data', (bytes) => {
      if (mode !== 'blackhole') client.write(bytes);
    });
    // Requests are framed (headers, then Content-Length bytes) to see which SQS call each one is.
    let pending = Buffer.alloc(0);
    client.on('data', (bytes) => {
      pending = Buffer.concat([pending, bytes]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.subarray(0, end + 4 + length);
        pending = pending.subarray(end + 4 + length);
        const operation = /^x-amz-target:\s*\w+\.(\w+)/im.exec(head)?.[1] ?? 'unknown';
        if (mode === 'blackhole') continue;
        seen[operation] = (seen[operation] ?? 0) + 1;
        if (holding.operations.has(operation) && holding.passed++ >= holding.after) {
          held++;
        } else if (failing.has(operation)) {
          failed[operation] = (failed[operation] ?? 0) + 1;
          client.write(ERROR_RESPONSE);
        } else {
          server.write(request);
        }
      }
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    async set(next) {
      const wasListening = server.listening;
      mode = next;
      if (next === 'refuse' || next === 'reset') {
        for (const socket of open) socket.resetAndDestroy();
      }
      if (next === 'refuse' && wasListening) await new Promise((resolve) => server.close(resolve));
      if (next !== 'refuse' && !wasListening) await listen(port);
    },
    fail(operations) {
      failing = new Set(operations);
    },
    hold(operations, after = 0) {
      holding = { operations: new Set(operations), after, passed: 0 };
    },
    counts: () => ({ seen: { ...seen }, failed: { ...failed }, held }),
    async close() {
      for (const socket of open) socket.destroy();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

// Clients that connect in the background (ioredis): a command sent while the connection is still
// being made would fail at once (the integrations keep no offline queue, so that a Redis that is
// down fails fast), and start-up would count as an outage.

/** What of such a client is needed to wait for it. */
export interface Connecting {
  status: string;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

/** States in which the client is still making its first connection. */
const CONNECTING = new Set(['wait', 'connecting', 'connect']);

/**
 * Waits, up to `timeoutMs`, for a client still making its connection; resolves at once when it is
 * ready or down (then the command that follows fails, as it should).
 */
export async function whenConnected(client: Connecting, timeoutMs: number): Promise<void> {
  if (!CONNECTING.has(client.status)) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
    client.once('ready', done);
  });
}

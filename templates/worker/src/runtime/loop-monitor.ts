// Notices a blocked event loop — a CPU-bound task, a long synchronous call. Leases survive it (their
// keeper has a thread of its own), but nothing else here runs meanwhile: receives, timers, the HTTP
// probes. So each block of a second or more is logged and counted.
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

const INTERVAL_MS = 250;
const THRESHOLD_MS = 1000;

/** Starts watching; returns the function that stops it. */
export function watchEventLoop(log: Logger, metrics: Pick<Metrics, 'eventLoopBlocks'>): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const blockedMs = now - last - INTERVAL_MS;
    last = now;
    if (blockedMs < THRESHOLD_MS) return;
    metrics.eventLoopBlocks.inc();
    log.warn(
      { blockedMs: Math.round(blockedMs) },
      'the event loop was blocked: a task is CPU-bound or synchronous; move heavy work to a worker thread',
    );
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

// Notices a blocked event loop — a CPU-bound task, a long synchronous call — or a paused process
// (SIGSTOP, a frozen container or VM). Leases survive a block (their keeper has a thread of its
// own), but nothing else here runs meanwhile: receives, timers, the HTTP probes. So each block of a
// second or more is logged and counted. A pause stops the keeper too: LeaseKeeper watches for it
// the same way (see `everyTick`), to give up the leases that expired in it.
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export const TICK_MS = 250;
/** A tick this late or later: the event loop was blocked, or the process paused. */
export const BLOCK_THRESHOLD_MS = 1000;

/**
 * Calls `onTick(lateMs)` every TICK_MS, with how much later than due it came: the time this event
 * loop did not run. Unref'd: it keeps no process alive. Returns the function that stops it.
 */
export function everyTick(onTick: (lateMs: number) => void): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = Math.max(0, now - last - TICK_MS);
    last = now;
    onTick(lateMs);
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Starts watching; returns the function that stops it. */
export function watchEventLoop(log: Logger, metrics: Pick<Metrics, 'eventLoopBlocks'>): () => void {
  return everyTick((blockedMs) => {
    if (blockedMs < BLOCK_THRESHOLD_MS) return;
    metrics.eventLoopBlocks.inc();
    log.warn(
      { blockedMs: Math.round(blockedMs) },
      'the event loop was blocked: a task is CPU-bound or synchronous; move heavy work to a worker thread',
    );
  });
}

import { constants } from 'node:os';
import type { Logger } from './logger.ts';

/**
 * One Ctrl-C reaches the worker several times within milliseconds: the terminal signals the whole
 * process group, and npm and `node --watch` (npm run dev) forward it too. Signals this close to the
 * first are that same one.
 */
const ECHO_MS = 300;

/**
 * The signals that mean "stop": SIGTERM (Kubernetes, docker stop), SIGINT (Ctrl-C), and SIGHUP (the
 * terminal closed, a supervisor's reload), which by default would end the process at once, its
 * messages held until their visibility timeout.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * The first stop signal stops gracefully; a second one releases what is in flight and exits at
 * once, with the signal's conventional code (129, 130, 143). Returns the handler, to stop the same
 * way without a signal.
 */
export function onStopSignals(
  log: Logger,
  { stop, force }: { stop(): Promise<void>; force(): Promise<void> },
): (signal: NodeJS.Signals) => Promise<void> {
  let stoppedAt: number | undefined;
  const handle = async (signal: NodeJS.Signals) => {
    if (stoppedAt === undefined) {
      stoppedAt = performance.now();
      log.info({ signal }, 'shutting down');
      await stop();
      return;
    }
    if (performance.now() - stoppedAt < ECHO_MS) return;
    log.warn({ signal }, 'second signal: releasing what is in flight and exiting now');
    await force();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handle);
  return handle;
}

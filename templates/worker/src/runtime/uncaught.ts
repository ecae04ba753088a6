// Errors nobody catches. A task that returns and leaves behind a promise that rejects later (one it
// did not await, a timer's) would by default end the process at once, with no drain: every message
// it holds waits out its visibility timeout. Such a rejection is logged, with the task that left it,
// and counted; the worker goes on. An exception nobody catches leaves the process in a state nobody
// knows: it stops as on SIGTERM, and exits 1.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TaskEvent, WorkerHooks } from './hooks.ts';
import type { Logger } from './logger.ts';

const runningTask = new AsyncLocalStorage<TaskEvent>();

/** Runs each task in a context of its own, which what it leaves behind keeps: the logs below name it. */
export const taskContext: WorkerHooks = {
  aroundTask: (event, run) => runningTask.run(event, run),
};

/** The task that left it behind, for a log line; Node runs these handlers in the context of their cause. */
function leftBy(): { task?: string; id?: string } {
  const event = runningTask.getStore();
  return event ? { task: event.task, id: event.id } : {};
}

/** Handles both for this process; `stop` (graceful, as on SIGTERM) is called once, on the first exception. */
export function onUncaught(log: Logger, { stop, rejections }: { stop(): void; rejections?: { inc(): void } }): void {
  process.on('unhandledRejection', (reason) => {
    rejections?.inc();
    log.error({ ...leftBy(), err: reason }, 'a promise rejected and nothing handled it (not awaited?); going on');
  });
  let stopped = false;
  process.on('uncaughtException', (error) => {
    process.exitCode = 1;
    const then = stopped ? 'already stopping' : 'stopping as on SIGTERM, then exiting 1';
    log.fatal({ ...leftBy(), err: error }, `an exception nobody caught; ${then}`);
    if (stopped) return;
    stopped = true;
    stop();
  });
}

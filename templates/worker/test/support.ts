import { createLogger, type TaskContext } from '../src/runtime/index.ts';

/** A task context for unit tests: no queue, no time limit, silent logs. */
export function taskContext(overrides: Partial<TaskContext> = {}): TaskContext {
  return {
    id: 'test-id',
    name: 'test',
    queue: 'test',
    retries: 0,
    signal: new AbortController().signal,
    log: createLogger('test', 'silent'),
    ...overrides,
  };
}

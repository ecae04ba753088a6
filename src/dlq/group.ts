// Dead letters summed up by why (`error_type`) and by task: what `be-worker dlq ls` shows.
import type { DeadLetter } from './read.ts';

export interface DeadLetterGroup {
  errorType: string;
  task: string;
  count: number;
}

/** One group per reason and task, the largest first. */
export function groupDeadLetters(letters: readonly Pick<DeadLetter, 'errorType' | 'task'>[]): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup>();
  for (const { errorType = '(none)', task = '(unknown)' } of letters) {
    const key = JSON.stringify([errorType, task]);
    const group = groups.get(key) ?? { errorType, task, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => b.count - a.count || a.errorType.localeCompare(b.errorType) || a.task.localeCompare(b.task),
  );
}

// What `be-worker add-queue` asks in a terminal when no argument or flag gave it: the queue, its
// task and (with the ratelimit integration) its ratelimit, each checked by the rule its flag has.
// Without a terminal nothing is asked: the missing argument is named.
import type { AddQueueInput } from '../add-queue.ts';
import { UserError } from '../errors.ts';
import { NEW_TASK_TAKES } from '../options.ts';
import type { WorkerRepo } from '../repo.ts';
import { queueSpecOf } from '../spec.ts';
import { askTextOrCancel, brokenRule, interactive } from './ui.ts';

export const QUEUE_DESCRIPTION = 'the short queue name, e.g. images-resize';

/**
 * The argument and flags, with what is missing asked in a terminal. A command line with the queue
 * is complete (the task defaults to its last word): only one without it is asked.
 */
export async function completeAddQueue(repo: WorkerRepo, given: Partial<AddQueueInput>): Promise<AddQueueInput> {
  if (given.queue !== undefined) return { ...given, queue: given.queue };
  if (!interactive) {
    throw new UserError(
      `missing <queue>: ${QUEUE_DESCRIPTION}; pass it as an argument (nothing is asked without a terminal)`,
    );
  }
  const queue = await askTextOrCancel({
    message: 'Queue name',
    placeholder: 'images-resize',
    validate: (text) =>
      text ? brokenRule(() => queueSpecOf(text)) : 'type one: "images-resize", in grey, is only an example',
  });
  const task =
    given.task ??
    (await askTextOrCancel({
      message: `Task it runs (${NEW_TASK_TAKES})`,
      initial: queueSpecOf(queue).task,
      validate: (text) => brokenRule(() => queueSpecOf(queue, text)),
    }));
  const asksRatelimit = given.ratelimit === undefined && repo.answers.answers.integrations.includes('ratelimit');
  const ratelimit = asksRatelimit
    ? await askTextOrCancel({
        message: 'Ratelimit it is held to (Enter: none)',
        validate: (text) => brokenRule(() => queueSpecOf(queue, task, text)),
      })
    : given.ratelimit;
  return { queue, task, ratelimit: ratelimit || undefined };
}

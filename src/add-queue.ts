// be-worker add-queue: a new queue, its task file, the task's unit test, its registration, the
// answers file, the READMEs' queue tables and deploy/ (its trigger), planned as one change set.
import { applyChanges, type ChangeSet, diffOf, readIfExists } from './changes.ts';
import { renderK8s } from './deploy.ts';
import { UserError } from './errors.ts';
import { ANSWERS_FILE, renderTaskFiles } from './render.ts';
import { findWorkerRepo, type WorkerRepo } from './repo.ts';
import { addQueueRow, QUEUE_TABLE_FILES } from './source/queue-tables.ts';
import { appendQueue, QUEUES_FILE, readQueues } from './source/queues-file.ts';
import { registeredTasks, registerTask, TASKS_FILE } from './source/tasks-file.ts';
import { crossCheck, type QueueSpec, queueSpecOf, type Spec, taskIdentifier } from './spec.ts';
import { planFiles } from './upgrade/plan.ts';
import { CLI_VERSION } from './version.ts';

export interface AddQueueInput {
  queue: string;
  task?: string;
  ratelimit?: string;
}

export async function planAddQueue(
  repo: WorkerRepo,
  input: AddQueueInput,
): Promise<{ queue: QueueSpec; changes: ChangeSet; notes: string[] }> {
  const queue = queueSpecOf(input.queue, input.task, input.ratelimit, { task: '--task', ratelimit: '--ratelimit' });
  const { root, answers } = repo;
  if (queue.ratelimit && !answers.answers.integrations.includes('ratelimit')) {
    throw new UserError(
      `--ratelimit ${queue.ratelimit}: this worker has no ratelimit integration, so nothing would enforce it; add the integration first (be-worker add-integration ratelimit), or leave out --ratelimit`,
    );
  }
  const [queuesSource, tasksSource] = await Promise.all([read(root, QUEUES_FILE), read(root, TASKS_FILE)]);

  const existing = readQueues(queuesSource);
  if (existing.some((binding) => binding.queue === queue.queue)) {
    throw new UserError(`queue "${queue.queue}" is already in ${QUEUES_FILE}; pick another name`);
  }
  const identifier = taskIdentifier(queue.task);
  const taskFiles = await renderTaskFiles(queue.task);
  const taskTaken =
    existing.some((binding) => binding.task === queue.task) || registeredTasks(tasksSource).includes(identifier);
  if (taskTaken || (await anyExists(root, [...taskFiles.keys()]))) {
    throw new UserError(
      `task "${queue.task}" already exists in this worker; give the new queue its own task with --task <name>`,
    );
  }
  crossCheck({ ...answers.answers, queues: [...existing, queue] });

  const changes: ChangeSet = new Map();
  changes.set(QUEUES_FILE, { before: queuesSource, after: appendQueue(queuesSource, queue) });
  changes.set(TASKS_FILE, { before: tasksSource, after: registerTask(tasksSource, identifier, queue.task) });
  for (const [path, after] of taskFiles) changes.set(path, { before: undefined, after });
  const answersSource = await read(root, ANSWERS_FILE);
  const updated = { ...answers, answers: { ...answers.answers, queues: [...answers.answers.queues, queue] } };
  changes.set(ANSWERS_FILE, { before: answersSource, after: `${JSON.stringify(updated, null, 2)}\n` });
  for (const [path, change] of await deployChanges(root, answers.answers, updated.answers)) changes.set(path, change);

  // The docs are the team's: a table they removed or rewrote is left to them, and said so.
  const notes: string[] = [];
  for (const path of QUEUE_TABLE_FILES) {
    const source = await readIfExists(root, path);
    const after = source === undefined ? undefined : addQueueRow(source, queue);
    if (after === undefined) {
      notes.push(
        source === undefined
          ? `${path} is not there: no queue table to update.`
          : `${path} has no queue table as generated (| queue | task | … |): left as is; add ${queue.queue} to it by hand.`,
      );
    } else if (after !== source) changes.set(path, { before: source, after });
  }
  return { queue, changes, notes };
}

/**
 * deploy/ as rendered for the answers before and after, merged into the files as they are, by
 * upgrade's rules: the team's edits are kept, a file they deleted stays deleted. Lines of theirs
 * that overlap the new queue's refuse the whole add-queue.
 */
async function deployChanges(root: string, before: Spec, after: Spec): Promise<ChangeSet> {
  const [base, theirs] = await Promise.all([renderK8s(before), renderK8s(after)]);
  const plan = await planFiles(base, theirs, (path) => readIfExists(root, path), {
    labels: { ours: 'yours', base: 'as rendered', theirs: 'with the new queue' },
    version: CLI_VERSION,
  });
  if (plan.conflicts.length > 0) {
    throw new UserError(
      `your edits to ${plan.conflicts.map(({ path }) => path).join(', ')} overlap the lines the new queue adds there; nothing was changed. Move your edits away from the triggers list, or add the queue and then its trigger by hand`,
    );
  }
  return plan.changes;
}

async function read(root: string, path: string): Promise<string> {
  const source = await readIfExists(root, path);
  if (source === undefined) throw new UserError(`${path} is missing from ${root}; restore it from git`);
  return source;
}

async function anyExists(root: string, paths: string[]): Promise<boolean> {
  return (await Promise.all(paths.map((path) => readIfExists(root, path)))).some((contents) => contents !== undefined);
}

/**
 * `be-worker add-queue` as a library: finds the worker that holds `directory`, adds the queue, its
 * task and test, all files or none (`dryRun`: nothing written). Returns the diff and the notes.
 */
export async function addQueue(
  directory: string,
  input: AddQueueInput,
  { dryRun = false, signal }: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<{ queue: QueueSpec; diff: string; notes: string[] }> {
  const repo = await findWorkerRepo(directory);
  const { queue, changes, notes } = await planAddQueue(repo, input);
  if (!dryRun) await applyChanges(repo.root, changes, signal);
  return { queue, diff: diffOf(changes), notes };
}

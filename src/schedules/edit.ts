// be-worker schedule add | rm: one entry of src/config/schedules.ts written or cut on its syntax
// tree, its task's import with it, as a change set (all or nothing). What `add` writes is first
// resolved by the worker's own runtime (load.ts): a refusal there writes nothing.
import { posix } from 'node:path';
import { applyChanges, type ChangeSet, diffOf, readIfExists } from '../changes.ts';
import { UserError } from '../errors.ts';
import { findWorkerRepo, type WorkerRepo } from '../repo.ts';
import { appendSchedule, removeSchedule, SCHEDULES_FILE, type TaskImport } from '../source/schedules-file.ts';
import { definedTaskName, registeredImports, TASKS_FILE } from '../source/tasks-file.ts';
import { type ExtraSchedule, loadSchedules, noSchedulesFile } from './load.ts';

export type AddScheduleInput = ExtraSchedule;

export async function planAddSchedule(
  repo: WorkerRepo,
  input: AddScheduleInput,
  signal?: AbortSignal,
): Promise<{ changes: ChangeSet }> {
  const source = await readIfExists(repo.root, SCHEDULES_FILE);
  if (source === undefined) throw noSchedulesFile();
  const tasks = await workerTasks(repo.root);
  const task = tasks.get(input.task);
  if (!task) {
    throw new UserError(
      `task "${input.task}" is not one of this worker's tasks (${[...tasks.keys()].join(', ') || 'it has none'}); pass --task with one of them`,
    );
  }
  const { task: _, ...fields } = input;
  const after = appendSchedule(source, fields, task);
  await loadSchedules(repo.root, { extra: input, signal });
  return { changes: new Map([[SCHEDULES_FILE, { before: source, after }]]) };
}

export async function planRemoveSchedule(repo: WorkerRepo, name: string): Promise<{ changes: ChangeSet }> {
  const source = await readIfExists(repo.root, SCHEDULES_FILE);
  if (source === undefined) throw noSchedulesFile();
  return { changes: new Map([[SCHEDULES_FILE, { before: source, after: removeSchedule(source, name) }]]) };
}

/**
 * The worker's tasks by Celery name, each as schedules.ts imports it: the identifier its module
 * exports (`send_mail` → sendMail from '../tasks/send_mail.ts'), read from the registry and modules.
 */
export async function workerTasks(root: string): Promise<Map<string, TaskImport>> {
  const registry = await readIfExists(root, TASKS_FILE);
  if (registry === undefined) throw new UserError(`${TASKS_FILE} is missing from ${root}; restore it from git`);
  const found = await Promise.all(
    registeredImports(registry).map(async ({ imported, specifier }) => {
      const path = posix.join(posix.dirname(TASKS_FILE), specifier);
      const module = await readIfExists(root, path);
      const name = module === undefined ? undefined : definedTaskName(module, path, imported);
      const fromConfig = posix.relative(posix.dirname(SCHEDULES_FILE), path);
      return name === undefined ? [] : [[name, { identifier: imported, specifier: fromConfig }] as const];
    }),
  );
  return new Map(found.flat().sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * `be-worker schedule add` as a library: finds the worker that holds `directory` and writes the
 * entry once the worker's runtime accepts it (`dryRun`: nothing written). Returns the diff.
 */
export async function addSchedule(
  directory: string,
  input: AddScheduleInput,
  { dryRun = false, signal }: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<{ diff: string }> {
  const repo = await findWorkerRepo(directory);
  const { changes } = await planAddSchedule(repo, input, signal);
  if (!dryRun) await applyChanges(repo.root, changes, signal);
  return { diff: diffOf(changes) };
}

/** `be-worker schedule rm` as a library. */
export async function removeScheduleFrom(
  directory: string,
  name: string,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<{ diff: string }> {
  const repo = await findWorkerRepo(directory);
  const { changes } = await planRemoveSchedule(repo, name);
  if (!dryRun) await applyChanges(repo.root, changes);
  return { diff: diffOf(changes) };
}

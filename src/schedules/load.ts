// The worker's schedules as its own code resolves them: a small script run by Node.js in the
// worker's root imports its schedules, tasks, queues and runtime, so the worker's schemas, rules
// and codec decide (not a copy of them in be-worker), and prints the result as JSON.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';
import { CancelledError, EnvironmentError, UserError } from '../errors.ts';
import { beWorkerCommand } from '../package-manager.ts';
import { listsNoSchedules, SCHEDULES_FILE, type ScheduleFields } from '../source/schedules-file.ts';

/** A resolved schedule and the SQS body EventBridge sends at each firing (with its placeholders). */
export type LoadedSchedule = ResolvedSchedule & { input: string };

/** An entry to resolve after the file's, as `schedule add` would write it, its task by Celery name. */
export type ExtraSchedule = ScheduleFields & { task: string };

const RUNTIME_FILE = 'src/runtime/schedules.ts';
const MESSAGE_FILE = 'src/runtime/schedule-message.ts';
/** Starts the script's one line of result: the worker's modules may print on import. */
const MARK = '@@be-worker-schedules@@';

// Plain JavaScript (no types: it runs as is), stages named so a failure says which file it was.
const SCRIPT = `
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const [root, extraJson] = process.argv.slice(1);
const report = (result) => process.stdout.write('\\n${MARK}' + JSON.stringify(result) + '\\n');
const load = (path) => import(pathToFileURL(join(root, path)).href);
let stage = '${RUNTIME_FILE}';
try {
  const { resolveSchedules } = await load(stage);
  stage = '${MESSAGE_FILE}';
  const { scheduleInput } = await load(stage);
  stage = '${SCHEDULES_FILE}';
  const { schedules } = await load(stage);
  stage = 'src/tasks/index.ts';
  const { tasks } = await load(stage);
  stage = 'src/config/queues.ts';
  const { queues } = await load(stage);
  stage = 'resolve';
  const extra = extraJson ? JSON.parse(extraJson) : undefined;
  const entries = extra ? [...schedules, { ...extra, task: tasks.find((task) => task.name === extra.task) }] : schedules;
  const resolved = resolveSchedules(entries, tasks, queues);
  report({ schedules: resolved.map((schedule) => ({ ...schedule, input: scheduleInput(schedule) })) });
} catch (error) {
  report({ error: { stage, name: error?.name, code: error?.code, message: String(error?.message ?? error) } });
}
`;

interface ScriptResult {
  schedules?: LoadedSchedule[];
  error?: { stage: string; name?: string; code?: string; message: string };
}

/**
 * The worker's schedules, resolved and validated by its own runtime (plus `extra`, the entry
 * `schedule add` is about to write). A worker made before schedules has no schedules file: none.
 * What the worker refuses is a UserError with its sentence.
 */
export async function loadSchedules(
  root: string,
  { extra, signal }: { extra?: ExtraSchedule; signal?: AbortSignal } = {},
): Promise<LoadedSchedule[]> {
  if (!existsSync(join(root, SCHEDULES_FILE))) {
    if (extra) throw noSchedulesFile();
    return [];
  }
  // Nothing listed: nothing to resolve, so no need of the worker's node_modules (before its install).
  if (!extra && listsNoSchedules(await readFile(join(root, SCHEDULES_FILE), 'utf8'))) return [];
  if (!existsSync(join(root, RUNTIME_FILE))) {
    throw new UserError(
      `${SCHEDULES_FILE} is there but this worker's runtime has no ${RUNTIME_FILE}; run ${beWorkerCommand('upgrade')} to bring the runtime that reads it`,
    );
  }
  // The Node.js running be-worker: the worker's own (npm run be-worker), at its minimum version or newer.
  const result = await execa(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      '--input-type=module',
      '--eval',
      SCRIPT,
      root,
      ...(extra ? [JSON.stringify(extra)] : []),
    ],
    { cwd: root, reject: false, stdin: 'ignore', cancelSignal: signal },
  );
  if (signal?.aborted) throw new CancelledError('Cancelled; nothing was changed.');
  const line = result.stdout
    .split('\n')
    .findLast((text) => text.startsWith(MARK))
    ?.slice(MARK.length);
  if (line === undefined) {
    const said = result.stderr.trim().split('\n').at(-1) ?? `exit code ${result.exitCode}`;
    throw new EnvironmentError(
      `Node.js could not load this worker's schedules (${said}); run npm run typecheck to see why`,
    );
  }
  const { schedules, error } = JSON.parse(line) as ScriptResult;
  if (error) throw explain(error);
  return schedules ?? [];
}

function explain({ stage, code, message }: NonNullable<ScriptResult['error']>): Error {
  const first = message.split('\n')[0]?.replace(/\.$/, '') ?? message;
  // The worker's verdict on an entry: its own sentence, as it would say it at start-up.
  if (stage === 'resolve') return new UserError(first);
  if (code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package/.test(first)) {
    return new UserError(`${stage} could not be loaded: ${first}; run npm install in the worker first`);
  }
  return new UserError(`${stage} could not be loaded: ${first}; fix it (npm run typecheck shows where) and run again`);
}

export function noSchedulesFile(): UserError {
  return new UserError(
    `this worker has no ${SCHEDULES_FILE} (it was made before schedules); run ${beWorkerCommand('upgrade')} first, which adds it`,
  );
}

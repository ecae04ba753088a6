// `be-worker upgrade` of workers made by CLIs built from this repository's own history, as teams
// have them: commit 4caac3f (version 0.1.0, before be-worker.json recorded its templates: the
// worker issue 31 found stuck at "nothing to do") and the release before this commit (its "Release X.Y.Z" commit). Each is
// built once, as a clone is (test/support/versions.ts, buildFromHistory); its create-be-worker
// makes a worker, its be-worker adds a queue, the team edits a task and a runtime file and
// commits; then today's be-worker (this repository's bin/) upgrades it with --base <that build>.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { vendoredCliPath } from '../../src/cli-source.ts';
import { templatesDigest } from '../../src/identity.ts';
import { renderWorker } from '../../src/render.ts';
import { validateSpec } from '../../src/spec.ts';
import { ownedByTeam } from '../../src/upgrade/plan.ts';
import { CLI_VERSION } from '../../src/version.ts';
import { REPO, tempDir } from '../support/process.ts';
import { buildFromHistory, type HistoricBuild, previousRelease } from '../support/versions.ts';
import { commit, expectChecksPass, snapshot, uncommitted } from '../support/worker-tree.ts';

const MINUTES = 60_000;
/** The 0.1.0-era commit issue 31 names: every later fix must reach the workers it made. */
const OLD_COMMIT = '4caac3f';
const TODAY = join(REPO, 'bin', 'be-worker.js');
const env = { CI: 'true' };
const RUNTIME_FILE = 'src/runtime/retry.ts';
const TEAM_NOTE = '// Reviewed by the team: retries are part of our SLO.\n';

let dir: string;
let old: HistoricBuild;
let previous: HistoricBuild;

const node = (cwd: string, script: string, args: string[]) =>
  execa('node', [script, ...args], { cwd, env, reject: false, all: true, stdin: 'ignore' });
const read = (worker: string, path: string) => readFile(join(worker, path), 'utf8');
const upgradeByToday = (worker: string, ...args: string[]) => node(worker, TODAY, ['upgrade', '--yes', ...args]);

/** A worker made by `build`'s create-be-worker, committed by it, dependencies not installed. */
async function workerFrom(build: HistoricBuild, name: string): Promise<string> {
  const parent = await tempDir('cbw-history-worker-');
  const made = await node(parent, join(build.root, 'bin', 'create-be-worker.js'), [
    name,
    '--user',
    'ann',
    '--queue',
    'orders:ship',
    '--no-install',
  ]);
  expect(made.exitCode, made.all).toBe(0);
  return join(parent, name);
}

/** As a team would: a queue added with the old be-worker, a task and a runtime file edited, committed. */
async function teamWorker(build: HistoricBuild, name: string): Promise<string> {
  const worker = await workerFrom(build, name);
  const added = await node(worker, join(build.root, 'bin', 'be-worker.js'), [
    'add-queue',
    'images-resize',
    '--task',
    'resize',
  ]);
  expect(added.exitCode, added.all).toBe(0);
  const task = await read(worker, 'src/tasks/ship.ts');
  expect(task).toContain('return text;');
  await writeFile(join(worker, 'src/tasks/ship.ts'), task.replace('return text;', 'return text.toUpperCase();'));
  const taskTest = await read(worker, 'test/tasks/ship.test.ts');
  expect(taskTest).toContain("toBe('hello')");
  await writeFile(join(worker, 'test/tasks/ship.test.ts'), taskTest.replace("toBe('hello')", "toBe('HELLO')"));
  await writeFile(join(worker, RUNTIME_FILE), `${TEAM_NOTE}${await read(worker, RUNTIME_FILE)}`);
  await commit(worker, 'Our work');
  return worker;
}

/** What today's CLI renders for the answers the worker records (after the upgrade: the same as before). */
async function todaysRender(worker: string): Promise<Map<string, string>> {
  const { answers } = JSON.parse(await read(worker, 'be-worker.json'));
  return renderWorker(validateSpec(answers));
}

/** Files add-queue edits in place: the team's from then on, merged, never re-rendered. */
const REGISTRIES = ['src/tasks/index.ts', 'src/config/queues.ts'];
/** Files with a queue table, which add-queue writes a row to since 0.2.0 (src/source/queue-tables.ts). */
const QUEUE_TABLES = ['README.md', 'examples/client/README.md'];
const isAddedQueueRow = (line: string) => line.startsWith('| `images-resize` |');

/**
 * After an upgrade of a teamWorker: every file the templates own is today's, the runtime file with
 * the team's line kept on top; the team's task files and add-queue's registries are as committed.
 * 0.1.0's add-queue wrote no row to the READMEs' queue tables: the three-way merge takes the row
 * it lacks as the team's choice and leaves it out (the team adds it by hand, or runs nothing: docs).
 */
async function expectUpgradedKeepingEdits(worker: string, ours: Map<string, string>): Promise<void> {
  const theirs = await todaysRender(worker);
  const upgraded = await snapshot(worker);
  for (const [path, text] of theirs) {
    if (ownedByTeam(path) || REGISTRIES.includes(path)) continue;
    let expected = path === RUNTIME_FILE ? `${TEAM_NOTE}${text}` : text;
    if (QUEUE_TABLES.includes(path) && !ours.get(path)?.split('\n').some(isAddedQueueRow))
      expected = expected
        .split('\n')
        .filter((line) => !isAddedQueueRow(line))
        .join('\n');
    expect(upgraded.get(path), path).toBe(expected);
  }
  for (const path of [
    'src/tasks/ship.ts',
    'test/tasks/ship.test.ts',
    'src/tasks/resize.ts',
    'test/tasks/resize.test.ts',
    ...REGISTRIES,
  ])
    expect(upgraded.get(path), path).toBe(ours.get(path));
  // Beside the render: today's CLI, run from a clone, packs itself into vendor/ for the pin to install.
  const extra = [...upgraded.keys()].filter((path) => !theirs.has(path) && !ours.has(path));
  expect(extra).toEqual([vendoredCliPath()]);
  expect(JSON.parse(upgraded.get('package.json') ?? '{}').devDependencies['create-be-worker']).toBe(
    `file:${vendoredCliPath()}`,
  );
  const answers = JSON.parse(upgraded.get('be-worker.json') ?? '{}');
  expect(answers.cliVersion).toBe(CLI_VERSION);
  expect(answers.answers.queues.map(({ queue }: { queue: string }) => queue)).toEqual(['orders', 'images-resize']);
}

describe(`be-worker upgrade of workers made by CLIs built from this repository's history`, () => {
  beforeAll(async () => {
    dir = await tempDir('cbw-history-');
    [old, previous] = await Promise.all([
      buildFromHistory(OLD_COMMIT, dir),
      previousRelease().then((commit) => buildFromHistory(commit, dir)),
    ]);
  }, 15 * MINUTES);

  it(
    `brings a worker made at commit ${OLD_COMMIT} (0.1.0) today's runtime, keeping the team's task and runtime edits; its checks pass; a second run has nothing to do`,
    async () => {
      const worker = await teamWorker(old, 'upw');
      const ours = await snapshot(worker);
      // The worker the issue found stuck: 0.1.0, no templates recorded, none of today's runtime.
      const recorded = JSON.parse(ours.get('be-worker.json') ?? '{}');
      expect(recorded.cliVersion).toBe(old.version);
      expect(recorded.templates).toBeUndefined();
      const arriving = [
        'src/runtime/lease.ts',
        'src/runtime/timing.ts',
        'src/config/routes.ts',
        'docker/grafana/dashboard.json',
      ];
      for (const path of arriving) expect(ours.has(path), path).toBe(false);

      const result = await upgradeByToday(worker, '--base', old.root);
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`base: create-be-worker ${old.version} from --base ${old.root}`);
      for (const path of arriving) expect(result.stdout).toMatch(new RegExp(`added +${path}\\n`));
      expect(result.stdout).toMatch(new RegExp(`merged +${RUNTIME_FILE}\\n`));
      expect(result.stdout).not.toContain('Conflicts');
      await expectUpgradedKeepingEdits(worker, ours);
      // The upgrade ran npm install: the worker's own checks, on today's runtime and the team's code.
      await expectChecksPass(worker);

      await commit(worker, 'Upgrade');
      const upgraded = await snapshot(worker);
      const again = await upgradeByToday(worker);
      expect(again.exitCode, again.all).toBe(0);
      expect(again.stdout).toContain(`upw is at create-be-worker ${CLI_VERSION} already: nothing to do`);
      expect(await snapshot(worker)).toEqual(upgraded);
      expect(await uncommitted(worker)).toBe('');
    },
    12 * MINUTES,
  );

  it(
    `marks, and exits 1 on, a team edit to a runtime line today's templates changed since ${OLD_COMMIT}, applying the rest`,
    async () => {
      const worker = await workerFrom(old, 'clash');
      const line = '/** The delay before retry number `retries + 1`, in whole seconds. */';
      const mine = '/** The delay before retry number `retries + 1`, in whole seconds: our SLO allows it. */';
      const runtime = await read(worker, RUNTIME_FILE);
      expect(runtime).toContain(line);
      await writeFile(join(worker, RUNTIME_FILE), runtime.replace(line, mine));
      await commit(worker, 'Our words');

      const result = await upgradeByToday(worker, '--no-install', '--base', old.root);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.stdout).toContain(`Conflicts in 1 file(s):\n  ${RUNTIME_FILE} (1 conflict marked)`);
      expect(result.stdout).toContain('Resolve them (search for <<<<<<<)');
      const marked = await read(worker, RUNTIME_FILE);
      expect(marked).toContain(`<<<<<<< yours\n${mine}\n=======\n`);
      expect(marked).toContain(`>>>>>>> create-be-worker ${CLI_VERSION}\n`);
      expect(marked).not.toContain(line);
      // Everything else is today's: no file is left half way.
      const theirs = await todaysRender(worker);
      const upgraded = await snapshot(worker);
      for (const [path, text] of theirs) {
        if (path !== RUNTIME_FILE && !ownedByTeam(path)) expect(upgraded.get(path), path).toBe(text);
      }
    },
    5 * MINUTES,
  );

  it(
    "upgrades a worker made by the previous release's build by what it renders: while templates/ is the release's, nothing moves, or only what names the CLI (a build before vendoring), else the changes arrive keeping the team's edits; then nothing to do",
    async () => {
      const worker = await teamWorker(previous, 'rel');
      const ours = await snapshot(worker);
      const result = await upgradeByToday(worker, '--base', previous.root);
      expect(result.exitCode, result.all).toBe(0);
      // Between releases (today's version is still the previous release's), with templates/ as it
      // released them. A release whose templates/ did not change may still render otherwise (its
      // src/ numbers, e.g. the Deployment's memory): that one takes the last branch.
      const sameTemplates =
        previous.version === CLI_VERSION &&
        templatesDigest(join(previous.root, 'templates')) === templatesDigest(join(REPO, 'templates'));
      if (sameTemplates && result.stdout.includes('render the same files for rel: nothing to do')) {
        // Both builds vendor themselves at one path (file:vendor/…): the same templates render the
        // same files, and nothing moves.
        expect(result.stdout).toContain(`from --base ${previous.root}`);
        expect(await snapshot(worker)).toEqual(ours);
      } else if (sameTemplates) {
        expect(result.stdout).toContain(`base: create-be-worker ${previous.version} from --base ${previous.root}`);
        // Right after a release, and until templates/ changes again, today's templates are the
        // release's. A build from before vendoring pins its own folder (file:<clone>), so the renders
        // differ, honestly, in what names the CLI: the upgrade moves the pin and the record of
        // what rendered it (today's records its commit), and no other file.
        const pin = (files: Map<string, string>) =>
          JSON.parse(files.get('package.json') ?? '{}').devDependencies['create-be-worker'];
        const vendored = `vendor/create-be-worker-${CLI_VERSION}.tgz`;
        expect([`file:${previous.root}`, `file:${vendored}`]).toContain(pin(ours));
        const upgraded = await snapshot(worker);
        const theirs = await todaysRender(worker);
        const moved = [...new Set([...ours.keys(), ...upgraded.keys()])].filter(
          (path) => ours.get(path) !== upgraded.get(path),
        );
        expect(moved).toContain('be-worker.json');
        for (const path of moved) expect(['be-worker.json', 'package.json', vendored], path).toContain(path);
        for (const [, path] of result.stdout.matchAll(/^ {2}(?:replaced|added|removed|merged) +(\S+)$/gm)) {
          expect(moved, path).toContain(path);
        }
        expect(pin(upgraded)).toBe(pin(theirs));
        const { devDependencies: _, ...rest } = JSON.parse(upgraded.get('package.json') ?? '{}');
        const { devDependencies: __, ...restBefore } = JSON.parse(ours.get('package.json') ?? '{}');
        expect(rest).toEqual(restBefore);
        expect(upgraded.get('be-worker.json')).toBe(theirs.get('be-worker.json'));
      } else {
        // templates/ changed since the release (on a branch, or at the next release): the worker takes it.
        expect(result.stdout).toContain(`base: create-be-worker ${previous.version} from --base ${previous.root}`);
        await expectUpgradedKeepingEdits(worker, ours);
        await expectChecksPass(worker);
      }
      if ((await uncommitted(worker)) !== '') await commit(worker, 'Upgrade');
      const upgraded = await snapshot(worker);
      const again = await upgradeByToday(worker);
      expect(again.exitCode, again.all).toBe(0);
      expect(again.stdout).toContain(`rel is at create-be-worker ${CLI_VERSION} already: nothing to do`);
      expect(await snapshot(worker)).toEqual(upgraded);
      expect(await uncommitted(worker)).toBe('');
    },
    12 * MINUTES,
  );
});

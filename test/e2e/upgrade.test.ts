// `be-worker upgrade` between real versions made by `npm pack` (test/support/versions.ts): A,
// this repository, and B, with changes to a runtime file, the Dockerfile, the README, a dependency,
// a new file, a new file of one integration and a file removed. Workers are made by A's CLI; B's (or A's with --to) upgrades them. Packages come
// from a local registry that has A and B (test/support/package-registry.ts). C, an older build at
// A's version with other templates, makes workers that A's CLI upgrades with --base.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackageRegistry, startPackageRegistry } from '../support/package-registry.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';
import { B_CHANGES, C_CHANGES, installCli, makeVersions, type Version } from '../support/versions.ts';
import { expectChecksPass as checksPass, commit, snapshot, uncommitted } from '../support/worker-tree.ts';

const MINUTES = 60_000;
let dir: string;
let a: Version;
let b: Version;
let c: Version;
let registry: PackageRegistry;
let env: Record<string, string>;

const bin = (version: 'a' | 'b' | 'c', name: string) => join(dir, `cli-${version}`, 'node_modules', '.bin', name);
const run = (cwd: string, command: string, args: string[]) =>
  execa(command, args, { cwd, env, reject: false, all: true, stdin: 'ignore' });
const upgrade = (worker: string, ...args: string[]) => run(worker, bin('b', 'be-worker'), ['upgrade', ...args]);
const read = (worker: string, path: string) => readFile(join(worker, path), 'utf8');

/** A worker made by A's (or C's) CLI in a new folder, committed (and installed, unless --no-install is given). */
async function workerFromA(name: string, ...args: string[]): Promise<string> {
  return workerFrom('a', name, ...args);
}

async function workerFrom(version: 'a' | 'c', name: string, ...args: string[]): Promise<string> {
  const parent = await tempDir('cbw-upgrade-');
  const created = await run(parent, bin(version, 'create-be-worker'), [name, '--user', 'ann', ...args]);
  expect(created.exitCode, created.all).toBe(0);
  return join(parent, name);
}

/** What B's (or A's) CLI makes for the same answers. */
async function freshFromB(name: string, ...args: string[]): Promise<string> {
  return freshFrom('b', name, ...args);
}

async function freshFrom(version: 'a' | 'b', name: string, ...args: string[]): Promise<string> {
  const parent = await tempDir('cbw-fresh-');
  const created = await run(parent, bin(version, 'create-be-worker'), [
    name,
    '--user',
    'ann',
    '--no-install',
    '--no-git',
    ...args,
  ]);
  expect(created.exitCode, created.all).toBe(0);
  return join(parent, name);
}

/** The recorded version on disk, as the pinned devDependency puts it, if the install has not. */
async function putOnDisk(worker: string, version: Version): Promise<void> {
  const target = join(worker, 'node_modules', 'create-be-worker');
  if ((await readdir(target).catch(() => [])).length > 0) return;
  await mkdir(target, { recursive: true });
  await execa('tar', ['-xzf', version.tarball, '--strip-components=1', '-C', target]);
}

const expectChecksPass = (worker: string) => checksPass(worker, env);

describe('be-worker upgrade from version A to version B', () => {
  beforeAll(async () => {
    dir = await tempDir('cbw-versions-');
    ({ a, b, c } = await makeVersions(dir));
    registry = await startPackageRegistry([a, b]);
    env = { CI: 'true', npm_config_registry: registry.url };
    for (const [name, version] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const) {
      await installCli(dir, name, version);
    }
  }, 8 * MINUTES);

  afterAll(() => registry?.stop());

  it(
    'makes an untouched worker what B makes, byte for byte, which passes its checks; a second run changes nothing',
    async () => {
      const worker = await workerFromA('plain', '--queue', 'orders:ship');
      await putOnDisk(worker, a);
      const result = await upgrade(worker, '--yes');
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`base: create-be-worker ${a.version} from node_modules/create-be-worker`);
      expect(result.stdout).toContain(B_CHANGES.workerEntry);
      expect(result.stdout).not.toContain(B_CHANGES.cliEntry);
      // The file B's templates dropped, left as A made it, goes; B's ratelimit file is not for this worker.
      expect(result.stdout).toMatch(new RegExp(`\\n {2}removed +${B_CHANGES.removedFile}\\n`));
      expect(result.stdout).not.toContain(B_CHANGES.newIntegrationFile);
      expect(await snapshot(worker)).toEqual(await snapshot(await freshFromB('plain', '--queue', 'orders:ship')));
      await expectChecksPass(worker);

      await commit(worker, 'Upgrade');
      const before = await snapshot(worker);
      const again = await upgrade(worker, '--yes');
      expect(again.exitCode, again.all).toBe(0);
      expect(again.stdout).toContain(`at create-be-worker ${b.version} already: nothing to do`);
      expect(await snapshot(worker)).toEqual(before);
      expect(await uncommitted(worker)).toBe('');
    },
    6 * MINUTES,
  );

  it(
    "keeps every hand edit that does not collide with B's: add-queue, a runtime edit, a dependency, a new task",
    async () => {
      const worker = await workerFromA('edited', '--queue', 'orders:ship');
      await putOnDisk(worker, a);
      expect(
        (await run(worker, bin('a', 'be-worker'), ['add-queue', 'images-resize', '--task', 'resize'])).exitCode,
      ).toBe(0);
      const runtimeFile = B_CHANGES.runtimeFile;
      await writeFile(join(worker, runtimeFile), `// Reviewed by the team.\n${await read(worker, runtimeFile)}`);
      const serializers = JSON.parse(await read(worker, 'node_modules/pino-std-serializers/package.json')).version;
      const added = await run(worker, 'npm', [
        'install',
        '--save',
        '--no-audit',
        '--no-fund',
        `pino-std-serializers@${serializers}`,
      ]);
      expect(added.exitCode, added.all).toBe(0);
      await writeFile(
        join(worker, 'src/tasks/cleanup.ts'),
        `import { z } from 'zod';\nimport { defineTask } from '../runtime/index.ts';\n\nexport const cleanup = defineTask({\n  name: 'cleanup',\n  args: z.tuple([]),\n  async run() {\n    return 'clean';\n  },\n});\n`,
      );
      await writeFile(
        join(worker, 'test/tasks/cleanup.test.ts'),
        `import { expect, it } from 'vitest';\nimport { cleanup } from '../../src/tasks/cleanup.ts';\nimport { taskContext } from '../support.ts';\n\nit('cleans', async () => {\n  expect(await cleanup.run([], taskContext())).toBe('clean');\n});\n`,
      );
      await writeFile(
        join(worker, 'src/tasks/ship.ts'),
        (await read(worker, 'src/tasks/ship.ts')).replace('return text;', 'return text.toUpperCase();'),
      );
      await writeFile(
        join(worker, 'test/tasks/ship.test.ts'),
        (await read(worker, 'test/tasks/ship.test.ts')).replace("toBe('hello')", "toBe('HELLO')"),
      );
      await commit(worker, 'Our work');
      const ours = await snapshot(worker);

      const result = await upgrade(worker, '--yes');
      expect(result.exitCode, result.all).toBe(0);
      const runtime = await read(worker, runtimeFile);
      expect(runtime).toMatch(/^\/\/ Reviewed by the team\.\n/);
      expect(runtime).toContain(B_CHANGES.runtimeLineB);
      const pkg = JSON.parse(await read(worker, 'package.json'));
      expect(pkg.dependencies['pino-std-serializers']).toBe(`^${serializers}`);
      expect(pkg.dependencies.pino).toMatch(/^>=/);
      expect(await read(worker, 'README.md')).toContain(B_CHANGES.readmeAdded);
      expect(await read(worker, 'Dockerfile')).toContain(B_CHANGES.dockerfileLineB);
      expect(await read(worker, B_CHANGES.newFile)).toContain('TEMPLATE_RELEASE');
      for (const path of [
        'src/tasks/ship.ts',
        'test/tasks/ship.test.ts',
        'src/tasks/resize.ts',
        'src/tasks/cleanup.ts',
        'test/tasks/cleanup.test.ts',
        'src/tasks/index.ts',
        'src/config/queues.ts',
      ]) {
        expect(await read(worker, path), path).toBe(ours.get(path));
      }
      const answers = JSON.parse(await read(worker, 'be-worker.json'));
      expect(answers.cliVersion).toBe(b.version);
      expect(answers.answers.queues.map(({ queue }: { queue: string }) => queue)).toEqual(['orders', 'images-resize']);
      await expectChecksPass(worker);
    },
    6 * MINUTES,
  );

  it(
    "marks an edit that overlaps B's change in that file only and exits 1; --dry-run first shows it and changes nothing",
    async () => {
      const worker = await workerFromA('clash', '--no-install');
      const runtimeFile = B_CHANGES.runtimeFile;
      const mine = '/** No retry comes sooner than this: our SLO says so. */';
      await writeFile(
        join(worker, runtimeFile),
        (await read(worker, runtimeFile)).replace(B_CHANGES.runtimeLine, mine),
      );
      await commit(worker, 'Our words');
      const before = await snapshot(worker);

      const dryRun = await upgrade(worker, '--dry-run', '--base', a.tarball);
      expect(dryRun.exitCode, dryRun.all).toBe(0);
      expect(dryRun.stdout).toContain(`base: create-be-worker ${a.version} from --base ${a.tarball}`);
      expect(dryRun.stdout).toContain(`${runtimeFile} (1 conflict marked)`);
      expect(dryRun.stdout).toContain(`+<<<<<<< yours\n ${mine}\n+=======\n+${B_CHANGES.runtimeLineB}`);
      expect(dryRun.stdout).toMatch(
        /Conflicts in 1 file\(s\):\n {2}src\/runtime\/retry.ts \(1 conflict marked\)\nDry run: nothing was changed\.$/,
      );
      expect(await snapshot(worker)).toEqual(before);

      const result = await upgrade(worker, '--yes', '--no-install', '--base', a.tarball);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.stdout).toContain(`Conflicts in 1 file(s):\n  ${runtimeFile} (1 conflict marked)`);
      expect(result.stdout).toContain(`git commit -m "Upgrade to create-be-worker ${b.version}"`);
      expect(await read(worker, runtimeFile)).toContain(
        `<<<<<<< yours\n${mine}\n=======\n${B_CHANGES.runtimeLineB}\n>>>>>>> create-be-worker ${b.version}\n`,
      );
      const upgraded = await snapshot(worker);
      const fresh = await snapshot(await freshFromB('clash', '--no-install'));
      upgraded.delete(runtimeFile);
      fresh.delete(runtimeFile);
      expect(upgraded).toEqual(fresh);
    },
    3 * MINUTES,
  );

  it(
    "upgrades a worker made at A's version by an older build (C, other templates) with --base C's tarball: asks for it, applies what differs, then has nothing to do",
    async () => {
      const worker = await workerFrom('c', 'older', '--no-install');
      const upgradeByA = (...args: string[]) =>
        run(worker, bin('a', 'be-worker'), ['upgrade', '--yes', '--no-install', ...args]);
      const before = await snapshot(worker);
      expect(before.get('Dockerfile')).toContain(C_CHANGES.dockerfileLineC);

      const asked = await upgradeByA();
      expect(asked.exitCode, asked.all).toBe(1);
      expect(asked.stderr).toMatch(
        /^✖ older was made by create-be-worker \S+ from other templates than this be-worker's .*pass --base/,
      );
      expect(await snapshot(worker)).toEqual(before);

      const result = await upgradeByA('--base', c.tarball);
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`base: create-be-worker ${a.version} from --base ${c.tarball}`);
      expect(result.stdout).toMatch(new RegExp(`added +${C_CHANGES.missingFile}`));
      expect(await snapshot(worker)).toEqual(await snapshot(await freshFrom('a', 'older', '--no-install')));

      await commit(worker, 'Upgrade');
      const again = await upgradeByA();
      expect(again.exitCode, again.all).toBe(0);
      expect(again.stdout).toContain(`older is at create-be-worker ${a.version} already: nothing to do`);
    },
    3 * MINUTES,
  );

  it(
    "across a release that added an integration's file and removed a file: a worker with that integration gets the file; the removed file, changed by the team, is kept and said so",
    async () => {
      const worker = await workerFromA('limited', '--with', B_CHANGES.integration, '--no-install');
      expect(await read(worker, B_CHANGES.removedFile)).toBeTruthy();
      const ours = `# Our producer calls this.\n${await read(worker, B_CHANGES.removedFile)}`;
      await writeFile(join(worker, B_CHANGES.removedFile), ours);
      await commit(worker, 'Our producer notes');

      const result = await upgrade(worker, '--yes', '--no-install', '--base', a.tarball);
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`\\n {2}added +${B_CHANGES.newIntegrationFile}\\n`));
      expect(await read(worker, B_CHANGES.newIntegrationFile)).toContain('RATELIMIT_RELEASE');
      expect(result.stdout).toContain(
        `Kept as you have them:\n  ${B_CHANGES.removedFile}: create-be-worker ${b.version} no longer has it, but you changed it; kept`,
      );
      expect(await read(worker, B_CHANGES.removedFile)).toBe(ours);
      // Everything else is what B makes for a worker with ratelimit.
      const upgraded = await snapshot(worker);
      upgraded.delete(B_CHANGES.removedFile);
      expect(upgraded).toEqual(
        await snapshot(await freshFromB('limited', '--with', B_CHANGES.integration, '--no-install')),
      );
    },
    3 * MINUTES,
  );

  it(
    'upgrades by its version a worker whose be-worker.json records no templates (made before they were recorded)',
    async () => {
      const worker = await workerFromA('unrecorded', '--no-install');
      await putOnDisk(worker, a);
      const { templates: _, ...older } = JSON.parse(await read(worker, 'be-worker.json'));
      await writeFile(join(worker, 'be-worker.json'), `${JSON.stringify(older, null, 2)}\n`);
      await commit(worker, 'As an older CLI wrote it');

      const result = await upgrade(worker, '--yes', '--no-install');
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`base: create-be-worker ${a.version} from node_modules/create-be-worker`);
      expect(await snapshot(worker)).toEqual(await snapshot(await freshFromB('unrecorded', '--no-install')));
    },
    3 * MINUTES,
  );

  it('refuses a tree with changes not committed, naming them, and changes nothing', async () => {
    const worker = await workerFromA('dirty', '--no-install');
    await writeFile(join(worker, 'README.md'), 'Ours\n');
    await writeFile(join(worker, 'notes.txt'), 'todo\n');
    const before = await snapshot(worker);
    const result = await upgrade(worker, '--yes', '--no-install');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('changes not committed');
    expect(result.stderr).toContain(' M README.md');
    expect(result.stderr).toContain('?? notes.txt');
    expect(await snapshot(worker)).toEqual(before);
  });

  it(
    'fetches the version it needs from the registry: the base when it is not on disk, the target with --to',
    async () => {
      const worker = await workerFromA('fetched', '--no-install');
      const result = await upgrade(worker, '--yes', '--no-install');
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`base: create-be-worker ${a.version} from the npm registry at ${registry.url}`);
      expect(registry.requests).toContain('/create-be-worker');
      expect(await read(worker, 'Dockerfile')).toContain(B_CHANGES.dockerfileLineB);

      // From a worker made today, with the be-worker it pins: one command to the latest release.
      const today = await workerFromA('today', '--no-install');
      const latest = await run(today, bin('a', 'be-worker'), ['upgrade', '--to', 'latest', '--yes', '--no-install']);
      expect(latest.exitCode, latest.all).toBe(0);
      expect(latest.stdout).toContain(`new:  create-be-worker ${b.version} from the npm registry at ${registry.url}`);
      expect(await snapshot(today)).toEqual(await snapshot(await freshFromB('today', '--no-install')));
    },
    3 * MINUTES,
  );

  it(
    'moves a worker made by a clone (its CLI vendored) to B from the registry: pins B, removes the tarball, installs',
    async () => {
      const parent = await tempDir('cbw-vendored-');
      const created = await run(parent, 'node', [CLI, 'vendored', '--user', 'ann', '--no-install']);
      expect(created.exitCode, created.all).toBe(0);
      const worker = join(parent, 'vendored');
      const tarball = `vendor/create-be-worker-${a.version}.tgz`;
      expect((await readdir(join(worker, 'vendor'))).sort()).toEqual([
        'README.md',
        `create-be-worker-${a.version}.tgz`,
      ]);
      // Made with the registry in npm_config_registry: the worker remembers it.
      expect(await read(worker, '.npmrc')).toContain(`registry=${registry.url}`);

      const result = await run(worker, 'node', [
        join(REPO, 'bin', 'be-worker.js'),
        'upgrade',
        '--to',
        b.version,
        '--yes',
      ]);
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`removed +${tarball.replaceAll('.', '\\.')}`));
      expect((await readdir(join(worker, 'vendor'))).sort()).toEqual(['README.md']);
      expect(JSON.parse(await read(worker, 'package.json')).devDependencies['create-be-worker']).toBe(b.version);
      const installed = JSON.parse(await read(worker, 'node_modules/create-be-worker/package.json'));
      expect(installed.version).toBe(b.version);
    },
    4 * MINUTES,
  );
});

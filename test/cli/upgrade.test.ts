// `be-worker upgrade` before it plans anything (the git checks), and at one version between builds
// that render differently (copies of this built package). Upgrades between two packed versions are
// in test/e2e/upgrade.test.ts.
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { CLI, REPO, startStub, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const upgrade = (cwd: string, ...args: string[]) =>
  execa('node', [BE_WORKER, 'upgrade', ...args], { cwd, reject: false, all: true, stdin: 'ignore' });

async function worker(...args: string[]): Promise<string> {
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--no-install', ...args], { cwd, env: { CI: 'true' } });
  return join(cwd, 'shop');
}

describe('be-worker upgrade', () => {
  it('refuses a worker that is not in git, saying how to fix it', async () => {
    const result = await upgrade(await worker('--no-git'), '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('is not in a git repository: commit the worker first');
  });

  it('goes on with changes not committed when told to with --allow-dirty', async () => {
    const shop = await worker();
    await writeFile(join(shop, 'README.md'), 'Ours\n');
    expect((await upgrade(shop, '--yes')).exitCode).toBe(1);
    const result = await upgrade(shop, '--yes', '--allow-dirty');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('shop is at create-be-worker');
  });

  it.each(['latest', '9.9.9'])(
    '--to %s where the registry lacks the package: one sentence naming the registry, npm_config_registry and --base',
    async (to) => {
      const shop = await worker();
      // A registry that has nothing: npm meets a 404 for create-be-worker.
      const { url, server } = await startStub(() => ({ status: 404, json: { error: 'Not found' } }));
      try {
        const result = await execa('node', [BE_WORKER, 'upgrade', '--to', to, '--yes'], {
          cwd: shop,
          reject: false,
          all: true,
          stdin: 'ignore',
          env: { npm_config_registry: `${url}/` },
        });
        expect(result.exitCode, result.all).toBe(2);
        expect(result.stderr.trim()).toBe(
          `✖ the npm registry at ${url}/ has no create-be-worker@${to} (404): set npm_config_registry to the registry create-be-worker is published to, or leave out --to to upgrade to this be-worker's version (--base <tarball|dir> gives the version the worker was made with).`,
        );
        expect(result.all).not.toContain('npm error');
      } finally {
        server.close();
      }
    },
  );

  it('asks the registry the worker was made from (its .npmrc), with no npm_config_registry set', async () => {
    const { url, server } = await startStub(() => ({ status: 404, json: { error: 'Not found' } }));
    try {
      const cwd = await tempDir();
      await execa('node', [CLI, 'shop', '--user', 'ann', '--no-install'], {
        cwd,
        env: { CI: 'true', npm_config_registry: url },
      });
      const shop = join(cwd, 'shop');
      expect(await readFile(join(shop, '.npmrc'), 'utf8')).toContain(`\nregistry=${url}/\n`);
      expect(JSON.parse(await readFile(join(shop, 'be-worker.json'), 'utf8')).answers.registry).toBe(`${url}/`);
      const result = await upgrade(shop, '--to', '9.9.9', '--yes');
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr).toContain(`the npm registry at ${url}/ has no create-be-worker@9.9.9 (404)`);
    } finally {
      server.close();
    }
  });
});

/**
 * A built copy of this package in `dir` (a clone without its .git); with `edit`, its templates
 * edited and built again (precompiled, their digest written), as `npm run build` would.
 */
async function packageCopy(dir: string, edit?: (templates: string) => Promise<void>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const entry of ['package.json', 'bin', 'dist', 'templates', 'CHANGELOG.md']) {
    await cp(join(REPO, entry), join(dir, entry), { recursive: true });
  }
  if (!edit) return dir;
  await edit(join(dir, 'templates'));
  for (const entry of ['scripts', 'src']) await cp(join(REPO, entry), join(dir, entry), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  await execa('node', [join(dir, 'scripts', 'precompile-templates.ts')], { cwd: dir });
  await rm(join(dir, 'node_modules'));
  return dir;
}

/** Replaces `from` (which must be there) by `to` in a file. */
async function replaceIn(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  expect(text, path).toContain(from);
  await writeFile(path, text.replace(from, to));
}

const answersOf = async (worker: string) => JSON.parse(await readFile(join(worker, 'be-worker.json'), 'utf8'));

async function commitAll(worker: string, message: string): Promise<void> {
  await execa('git', ['add', '-A'], { cwd: worker });
  await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', message], { cwd: worker });
}

const DOCKERFILE_LINE = '# Build stage: all dependencies, compile TypeScript to dist/.';
const OLD_DOCKERFILE_LINE = '# Build stage: every dependency, TypeScript compiled to dist/.';
const NEW_FILE = 'scripts/check-node.cjs';

/** The same version as this package, rendering differently: another Dockerfile line, one file fewer, .dockerignore without coverage. */
async function olderBuild(dir: string): Promise<string> {
  return packageCopy(dir, async (templates) => {
    await replaceIn(join(templates, 'worker', 'Dockerfile.hbs'), DOCKERFILE_LINE, OLD_DOCKERFILE_LINE);
    await replaceIn(join(templates, 'worker', '.dockerignore'), 'coverage\n', '');
    await rm(join(templates, 'worker', NEW_FILE));
  });
}

describe('be-worker.json: what the worker was rendered from', () => {
  it('records the sha256 of the templates (another for other templates) and, from a clone, its commit', async () => {
    const shop = await worker('--no-git');
    const fromHere = await answersOf(shop);
    const head = (await execa('git', ['rev-parse', 'HEAD'], { cwd: REPO })).stdout;
    expect(fromHere.templates).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), commit: head });
    // add-queue rewrites be-worker.json: what rendered the worker stays.
    const added = await execa('node', [BE_WORKER, 'add-queue', 'images-resize', '--task', 'resize'], {
      cwd: shop,
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    expect(added.exitCode, added.all).toBe(0);
    expect((await answersOf(shop)).templates).toEqual(fromHere.templates);

    const root = await tempDir('cbw-builds-');
    const same = await packageCopy(join(root, 'same'));
    const installed = await packageCopy(join(root, 'node_modules', 'create-be-worker'));
    const other = await olderBuild(join(root, 'other'));
    const made = async (cli: string) => {
      const cwd = await tempDir();
      const result = await execa(
        'node',
        [join(cli, 'bin', 'create-be-worker.js'), 'shop', '--user', 'ann', '--no-install', '--no-git'],
        {
          cwd,
          env: { CI: 'true' },
          reject: false,
          all: true,
        },
      );
      expect(result.exitCode, result.all).toBe(0);
      return (await answersOf(join(cwd, 'shop'))).templates;
    };
    // A copy has no .git: no commit. An installed package has the digest its build wrote, the same.
    expect(await made(same)).toEqual({ sha256: fromHere.templates.sha256 });
    expect(await made(installed)).toEqual({ sha256: fromHere.templates.sha256 });
    expect((await made(other)).sha256).not.toBe(fromHere.templates.sha256);
  });
});

describe('be-worker upgrade at the same version', () => {
  it('renders with --base a built clone and applies what differs; new files arrive, deleted ones stay deleted and are named', async () => {
    const old = await olderBuild(join(await tempDir('cbw-old-'), 'old-clone'));
    const cwd = await tempDir();
    const made = await execa(
      'node',
      [join(old, 'bin', 'create-be-worker.js'), 'shop', '--user', 'ann', '--no-install'],
      {
        cwd,
        env: { CI: 'true' },
        reject: false,
        all: true,
      },
    );
    expect(made.exitCode, made.all).toBe(0);
    const shop = join(cwd, 'shop');
    await rm(join(shop, '.dockerignore'));
    await commitAll(shop, 'We need no .dockerignore');

    const unknown = await upgrade(shop, '--yes', '--no-install');
    expect(unknown.exitCode, unknown.all).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/other templates than this be-worker's.*pass --base/);
    expect(await readFile(join(shop, 'Dockerfile'), 'utf8')).toContain(OLD_DOCKERFILE_LINE);

    const result = await upgrade(shop, '--yes', '--no-install', '--base', old);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain(
      `Upgrading shop from one build of create-be-worker ${packageJson.version} to another`,
    );
    expect(result.stdout).toContain(`base: create-be-worker ${packageJson.version} from --base ${old}`);
    expect(result.stdout).toMatch(/replaced +Dockerfile/);
    expect(result.stdout).toMatch(new RegExp(`added +${NEW_FILE}`));
    expect(result.stdout).toContain('.dockerignore: you deleted it and create-be-worker');
    expect(await readFile(join(shop, 'Dockerfile'), 'utf8')).toContain(DOCKERFILE_LINE);
    expect(await readFile(join(shop, NEW_FILE), 'utf8')).toBe(
      await readFile(join(REPO, 'templates', 'worker', NEW_FILE), 'utf8'),
    );
    await expect(readFile(join(shop, '.dockerignore'))).rejects.toThrow(/ENOENT/);
    const here = await answersOf(await worker('--no-git'));
    expect((await answersOf(shop)).templates).toEqual(here.templates);

    await commitAll(shop, 'Upgrade');
    const again = await upgrade(shop, '--yes', '--no-install');
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toContain(`shop is at create-be-worker ${packageJson.version} already: nothing to do.`);
  });

  it('refuses a --base whose templates are not the ones the worker records, changing nothing', async () => {
    const shop = await worker();
    const other = await olderBuild(join(await tempDir('cbw-other-'), 'other-clone'));
    const result = await upgrade(shop, '--yes', '--no-install', '--base', other);
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`--base ${other} .* is not what this worker was made from .*pass --base`));
    expect((await execa('git', ['status', '--porcelain'], { cwd: shop })).stdout).toBe('');
  });

  it('says nothing to do when --base renders the same files, naming the base', async () => {
    const shop = await worker();
    const result = await upgrade(shop, '--yes', '--no-install', '--base', REPO);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain(`render the same files for shop: nothing to do`);
    expect(result.stdout).toContain(`--base ${REPO}`);
    expect((await execa('git', ['status', '--porcelain'], { cwd: shop })).stdout).toBe('');
  });

  it('a worker that records no templates (made before they were recorded): nothing to do by version, and says how to compare', async () => {
    const shop = await worker();
    const { templates: _, ...older } = await answersOf(shop);
    await writeFile(join(shop, 'be-worker.json'), `${JSON.stringify(older, null, 2)}\n`);
    await commitAll(shop, 'As an older CLI wrote it');
    const result = await upgrade(shop, '--yes', '--no-install');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain(`shop is at create-be-worker ${packageJson.version} already: nothing to do.`);
    expect(result.stdout).toMatch(/records no templates.*--base/);
  });
});

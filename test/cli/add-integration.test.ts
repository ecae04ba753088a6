// `be-worker add-integration` on workers a team has edited and committed: the result is the worker
// create-be-worker makes with those integrations, with the team's edits kept; overlaps are marked.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { INTEGRATION_NAMES } from '../../src/integrations/index.ts';
import { CLI, REPO, startStub, tempDir } from '../support/process.ts';
import { commit, snapshot, uncommitted } from '../support/worker-tree.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const CONFIG = 'src/config/config.ts';
const YOUR_VARIABLES = '  // Your variables, e.g. DATABASE_URL: z.url(),\n';

const addIntegration = (cwd: string, ...args: string[]) =>
  execa('node', [BE_WORKER, 'add-integration', ...args], { cwd, reject: false, all: true, stdin: 'ignore' });

/** A worker as create-be-worker makes it (in git, committed), not installed. */
async function worker(...args: string[]): Promise<string> {
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', ...args], {
    cwd,
    env: { CI: 'true' },
  });
  return join(cwd, 'shop');
}

/** The team's edits: a variable of their own in the config, a line in the README. */
async function editAsTeam(root: string): Promise<void> {
  const config = await readFile(join(root, CONFIG), 'utf8');
  expect(config).toContain(YOUR_VARIABLES);
  await writeFile(join(root, CONFIG), config.replace(YOUR_VARIABLES, `${YOUR_VARIABLES}  DATABASE_URL: z.url(),\n`));
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  await writeFile(join(root, 'README.md'), `${readme}\n## Our runbook\n\nPage the shop team.\n`);
}

describe('be-worker add-integration', () => {
  it.each([
    { made: [], add: ['ratelimit'], expected: 'ratelimit' },
    { made: ['--with', 'sentry'], add: ['ratelimit'], expected: 'ratelimit,sentry' },
    { made: ['--with', 'vault'], add: ['tracing', 'sentry'], expected: 'sentry,tracing,vault' },
    { made: ['--with', 'ratelimit'], add: ['large-payloads'], expected: 'large-payloads,ratelimit' },
  ])(
    '$made + $add: what create-be-worker --with $expected makes, with the team’s edits kept',
    async ({ made, add, expected }) => {
      const shop = await worker(...made);
      await editAsTeam(shop);
      await commit(shop, 'our edits');
      const result = await addIntegration(shop, ...add, '--no-install');
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout).toContain(`Added ${add.slice().sort().join(', ')}.`);
      // Its bucket is provision's and iam-policy's: said when it is added.
      expect(/^Its bucket: .+ provision creates it, .+ iam-policy grants it\.$/m.test(result.stdout)).toBe(
        add.includes('large-payloads'),
      );

      const fresh = await worker('--with', expected);
      await editAsTeam(fresh);
      const [ours, theirs] = await Promise.all([snapshot(shop), snapshot(fresh)]);
      expect([...ours.keys()]).toEqual([...theirs.keys()]);
      for (const [path, text] of theirs) expect(ours.get(path), path).toBe(text);
      expect(JSON.parse(ours.get('be-worker.json') ?? '').answers.integrations).toEqual(expected.split(','));
    },
    120_000,
  );

  it('--dry-run prints the diff and changes nothing', async () => {
    const shop = await worker();
    const before = await snapshot(shop);
    const result = await addIntegration(shop, 'ratelimit', '--dry-run');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/^ {2}merged {3}package\.json$|^ {2}replaced package\.json$/m);
    expect(result.stdout).toContain('+++ b/src/integrations/ratelimit.ts');
    expect(result.stdout).toMatch(/^\+ {4}"ioredis": /m);
    expect(result.stdout).toMatch(/^Dry run: nothing was changed\.$/m);
    expect(await snapshot(shop)).toEqual(before);
  }, 60_000);

  it('installs the dependencies after, unless --no-install: an install that fails says the files are in place', async () => {
    const shop = await worker();
    // A registry that has nothing: npm's first fetch is a 404.
    const { url, server } = await startStub(() => ({ status: 404, json: { error: 'Not found' } }));
    try {
      const result = await execa('node', [BE_WORKER, 'add-integration', 'sentry'], {
        cwd: shop,
        reject: false,
        all: true,
        stdin: 'ignore',
        env: { npm_config_registry: `${url}/`, CI: 'true' },
      });
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr).toContain('✖ npm install --no-fund --no-audit failed with exit code 1.');
      expect(result.stderr).toContain(
        `The project is in place. Fix the cause, then run:\n  cd ${shop} && npm install --no-fund --no-audit`,
      );
      expect(JSON.parse(await readFile(join(shop, 'be-worker.json'), 'utf8')).answers.integrations).toEqual(['sentry']);
    } finally {
      server.close();
    }
  }, 120_000);

  it('an edit where the integration writes too is marked as a conflict; exit 1', async () => {
    const shop = await worker();
    // The integrations' variables are appended to .env.example: so is the team's line.
    const envExample = await readFile(join(shop, '.env.example'), 'utf8');
    await writeFile(join(shop, '.env.example'), `${envExample}OUR_OWN=1\n`);
    await commit(shop, 'our variable');
    const result = await addIntegration(shop, 'ratelimit', '--no-install');
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stdout).toMatch(/Conflicts in 1 file\(s\):\n {2}\.env\.example \(1 conflict marked\)/);
    const merged = await readFile(join(shop, '.env.example'), 'utf8');
    expect(merged).toMatch(
      /<<<<<<< yours\nOUR_OWN=1\n=======\n[\s\S]*RATELIMIT_BACKEND=local[\s\S]*>>>>>>> with ratelimit\n/,
    );
    expect(JSON.parse(await readFile(join(shop, 'be-worker.json'), 'utf8')).answers.integrations).toEqual([
      'ratelimit',
    ]);
  }, 60_000);

  it('refuses an unknown integration, naming the ones there are; nothing changes', async () => {
    const shop = await worker();
    const result = await addIntegration(shop, 'sentry', 'sentri', '--no-install');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(`✖ no integration "sentri"; there are ${INTEGRATION_NAMES.join(', ')}`);
    expect(await uncommitted(shop)).toBe('');
  }, 60_000);

  it('refuses an integration the worker has already', async () => {
    const shop = await worker('--with', 'sentry,ratelimit');
    const result = await addIntegration(shop, 'tracing', 'ratelimit', '--no-install');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      "this worker has ratelimit already (be-worker.json's integrations: ratelimit, sentry); nothing was changed",
    );
    expect(await uncommitted(shop)).toBe('');
  }, 60_000);

  it('refuses changes not committed, naming them, unless --allow-dirty', async () => {
    const shop = await worker();
    await writeFile(join(shop, 'NOTES.md'), 'Ours\n');
    const refused = await addIntegration(shop, 'sentry', '--no-install');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      "the worker has changes not committed; commit or stash them first, so the add-integration's changes stand apart (or pass --allow-dirty):\n  ?? NOTES.md",
    );
    expect(await uncommitted(shop)).toBe('?? NOTES.md');
    const allowed = await addIntegration(shop, 'sentry', '--no-install', '--allow-dirty');
    expect(allowed.exitCode, allowed.all).toBe(0);
    expect(await readFile(join(shop, 'src/integrations/sentry.ts'), 'utf8')).toContain('SENTRY_DSN');
    expect(await readFile(join(shop, 'NOTES.md'), 'utf8')).toBe('Ours\n');
  }, 60_000);
});

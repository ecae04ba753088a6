// The bin as a user runs it, without a terminal: flags only, exit codes, nothing written on refusal.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { INTEGRATION_NAMES } from '../../src/integrations/index.ts';
import { CLI, tempDir } from '../support/process.ts';

let cwd: string;
beforeEach(async () => {
  cwd = await tempDir('cbw-cli-');
});

const run = (...args: string[]) =>
  execa('node', [CLI, ...args], { cwd, reject: false, all: true, stdin: 'ignore', env: { CI: 'true' } });
const offline = ['--no-install', '--no-git'];

describe('create-be-worker without a terminal', () => {
  it('exits 1 naming --name when no name or directory is given, and writes nothing', async () => {
    const result = await run(...offline);
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain('missing --name');
    expect(await readdir(cwd)).toEqual([]);
  });

  it.each(['my worker', 'sub/My_Worker'])(
    'names the directory typed (%j), not a --name nobody typed, when the name from it breaks the rule',
    async (directory) => {
      const result = await run(directory, '--no-install', '--no-git');
      expect(result.exitCode).toBe(1);
      const name = directory.split('/').at(-1);
      expect(result.stderr.trim()).toBe(
        `✖ the directory "${directory}" (the worker's name, unless --name gives another): a worker name is lower-case letters, digits and single hyphens, starting with a letter (npm- and SQS-safe), e.g. "image-resizer" (got "${name}")`,
      );
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('generates a worker from flags, named after its directory', async () => {
    const result = await run('billing-worker', ...offline);
    expect(result.exitCode, result.all).toBe(0);
    const answers = JSON.parse(await readFile(join(cwd, 'billing-worker', 'be-worker.json'), 'utf8'));
    expect(answers.answers).toMatchObject({
      name: 'billing-worker',
      queues: [{ queue: 'billing-worker-add', task: 'add' }],
      env: 'local',
      region: 'us-west-1',
    });
    expect(answers.cliVersion).toBe(packageJson.version);
    expect(result.all).toContain('npm run dev');
  });

  it('takes integrations as --all minus --without, and names an unknown one', async () => {
    const result = await run('mixed', '--all', '--without', 'vault,fluent', ...offline);
    expect(result.exitCode, result.all).toBe(0);
    const answers = JSON.parse(await readFile(join(cwd, 'mixed', 'be-worker.json'), 'utf8')).answers;
    expect(answers.integrations).toEqual(INTEGRATION_NAMES.filter((name) => !['vault', 'fluent'].includes(name)));
    expect(answers.integrations).toContain('large-payloads');
    const unknown = await run('other', '--with', 'kafka', ...offline);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.all).toContain('no integration "kafka"');
  });

  it('--dry-run lists the files and writes nothing', async () => {
    const result = await run('--yes', '--name', 'dry-worker', '--dry-run', ...offline);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toMatch(/src\/tasks\/add\.ts\s+\d+ B/);
    expect(result.all).toContain('nothing was written');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('refuses a non-empty directory and leaves it byte-identical', async () => {
    const target = join(cwd, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'package.json'), '{"mine": true}\n');
    const result = await run('taken', ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain('is not empty');
    expect(result.all).toContain('--force');
    expect(await readdir(target)).toEqual(['package.json']);
    expect(await readFile(join(target, 'package.json'), 'utf8')).toBe('{"mine": true}\n');
  });

  it('--force writes into a non-empty directory, keeps other files and backs up replaced ones', async () => {
    const target = join(cwd, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'NOTES.md'), 'mine\n');
    await writeFile(join(target, 'package.json'), '{"mine": true}\n');
    const result = await run('taken', '--force', ...offline);
    expect(result.exitCode, result.all).toBe(0);
    expect(await readFile(join(target, 'NOTES.md'), 'utf8')).toBe('mine\n');
    expect(JSON.parse(await readFile(join(target, 'package.json'), 'utf8')).name).toBe('taken');
    const backup = (await readdir(cwd)).find((entry) => entry.startsWith('taken.backup-'));
    expect(backup, result.all).toBeDefined();
    // Named with the local date and time a person reads, not epoch milliseconds.
    const now = new Date();
    const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0'));
    expect(backup).toMatch(new RegExp(`^taken\\.backup-${today.join('-')}-\\d{6}$`));
    expect(await readFile(join(cwd, backup ?? '', 'package.json'), 'utf8')).toBe('{"mine": true}\n');
  });

  it.each([
    [['--name', 'Bad_Name'], '--name', 'Bad_Name'],
    [['--name', 'ok', '--queue', 'has space'], '--queue', 'has space'],
    [['--name', 'ok', '--queue', 'q:not-a-task'], '--queue', 'not-a-task'],
    [['--name', 'ok', '--queue', 'q:task:bad limit'], '--queue', 'bad limit'],
    [['--name', 'ok', '--queue', 'a:b:c:d'], '--queue', 'too many parts'],
    [['--name', 'ok', '--queue', 'same', '--queue', 'same'], '--queue', 'given twice'],
    [['--name', 'ok', '--env', 'Prod'], '--env', 'Prod'],
    [['--name', 'ok', '--user', 'Bob'], '--user', 'Bob'],
    [['--name', 'ok', '--region', 'mars'], '--region', 'mars'],
    [['--name', 'ok', '--package-manager', 'cargo'], '--package-manager', 'cargo'],
  ])('rejects %j naming %s and the value', async (args, flag, value) => {
    const result = await run(...args, ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain(flag);
    expect(result.all).toContain(value);
    expect(await readdir(cwd)).toEqual([]);
  });

  it.each([
    [
      ['--queue', 'weird queue'],
      '--queue: an SQS queue name is letters, digits, "-" and "_" only (FIFO queues end in ".fifo") (got "weird queue")',
    ],
    [
      ['--queue', 'q:1x'],
      '--queue: a task name is a Celery-style identifier: dot-separated words of letters, digits and "_", e.g. "add" or "app.tasks.add" (got "1x")',
    ],
    [
      ['--queue', 'q:add:bad limit'],
      '--queue: a ratelimit name is letters, digits, "_", ".", ":" and "-", starting with a letter or digit (got "bad limit")',
    ],
  ])('says what is wrong with %j in one plain sentence', async (args, message) => {
    const result = await run('--name', 'ok', ...args, ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(`✖ ${message}`);
    expect(await readdir(cwd)).toEqual([]);
  });

  it.each([
    [['--queue', 'images:resize:img']],
    [['--queue', 'images:resize:img', '--none']],
    [['--queue', 'images:resize:img', '--with', 'sentry']],
  ])('refuses a ratelimit name without the ratelimit integration (%j), with the fix, writing nothing', async (args) => {
    const result = await run('--name', 'ok', ...args, ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(
      '✖ --queue images:resize:img names ratelimit "img", but the ratelimit integration is off, so nothing would enforce it: add --with ratelimit, or drop the name (--queue images:resize)',
    );
    expect(await readdir(cwd)).toEqual([]);
    const fixed = await run('--name', 'ok', '--queue', 'images:resize:img', '--with', 'ratelimit', ...offline);
    expect(fixed.exitCode, fixed.all).toBe(0);
  });

  it.each([
    [['--all', '--none'], '--all and --none'],
    [['--none', '--with', 'sentry'], '--none and --with sentry'],
    [['--with', 'sentry,tracing', '--without', 'tracing'], '--with tracing and --without tracing'],
  ])('refuses integration flags that contradict each other (%j), writing nothing', async (args, pair) => {
    const result = await run('--name', 'ok', ...args, ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(`✖ ${pair} contradict each other; keep one of them`);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('refuses a package manager that is not installed before writing anything, with the fixes', async () => {
    // A PATH without pnpm (nor anything else); node itself is started by its full path.
    const result = await execa(process.execPath, [CLI, 'pnpm-worker', '--package-manager', 'pnpm', '--no-git'], {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      env: { CI: 'true', PATH: cwd },
    });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr.trim()).toBe(
      '✖ pnpm is not installed (not found on PATH), so nothing was written: install it (corepack enable pnpm, or npm install -g pnpm), or use --package-manager npm, or skip the install with --no-install',
    );
    expect(result.all).not.toContain('✔');
    expect(await readdir(cwd)).toEqual([]);
  });

  it.each([
    [['--queue', 'q:add', '--queue', 'r:add'], 'q', 'r', 'add'],
    // The default task is the queue's last word: both of these run "send".
    [['--queue', 'emails-send', '--queue', 'sms-send'], 'emails-send', 'sms-send', 'send'],
  ])(
    'refuses two queues running the same task (%j) in one sentence with the fix, writing nothing',
    async (args, first, second, task) => {
      const result = await run('--name', 'ok', ...args, ...offline);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toContain(
        `--queue: queues "${first}" and "${second}" both run task "${task}", but a task runs from one queue only; give "${second}" a task of its own: --queue ${second}:<task>`,
      );
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it.each([
    ['a newline', 'Resizes\nimages', '"Resizes\\nimages"'],
    ['a tab', 'Resizes\timages', '"Resizes\\timages"'],
    ['escape sequences', 'Resizes \x1b[2J\x1b[31mimages', '"Resizes \\u001b[2J\\u001b[31mimages"'],
    ['a C1 control (CSI)', 'Resizes \u009b31mimages', '"Resizes \\u009b31mimages"'],
    ['DEL', 'Resizes\x7f', '"Resizes\\u007f"'],
  ])(
    'refuses a --description with %s, naming the rule and showing the value escaped, writing nothing',
    async (_, description, shown) => {
      const result = await run('--name', 'ok', '--description', description, ...offline);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('--description: a description is one line of printable text');
      expect(result.stderr).toContain(`(got ${shown})`);
      // Nothing the user typed reaches the terminal raw.
      expect(result.all.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it('keeps a description with any printable Unicode', async () => {
    const description = 'Größen ändern — 画像 «resize» "quoted" 🚀';
    const result = await run('unicode', '--description', description, ...offline);
    expect(result.exitCode, result.all).toBe(0);
    const answers = JSON.parse(await readFile(join(cwd, 'unicode', 'be-worker.json'), 'utf8')).answers;
    expect(answers.description).toBe(description);
    expect(JSON.parse(await readFile(join(cwd, 'unicode', 'package.json'), 'utf8')).description).toBe(description);
  });

  it('rejects a queue whose dead-letter name would pass 80 characters, saying by how much', async () => {
    const queue = 'q'.repeat(80 - 'err-bob-local-'.length + 1);
    const result = await run('--name', 'ok', '--user', 'bob', '--queue', queue, ...offline);
    expect(result.exitCode).toBe(1);
    expect(result.all).toContain(`err-bob-local-${queue}`);
    expect(result.all).toContain('81 characters');
    expect(result.all).toContain('by 1');
    const fits = await run('--name', 'ok', '--user', 'bob', '--queue', queue.slice(1), '--dry-run', ...offline);
    expect(fits.exitCode, fits.all).toBe(0);
  });

  it('--help lists every flag; --version prints the version', async () => {
    const help = await run('--help');
    expect(help.exitCode).toBe(0);
    for (const flag of [
      '--name',
      '--description',
      '--queue',
      '--env',
      '--user',
      '--region',
      '--package-manager',
      '--no-install',
      '--no-git',
      '--dry-run',
      '--force',
      '--yes',
      '--help',
      '--version',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    // Only local names have the user in them.
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      '--provision create the SQS queues (<env>-<queue>; locally <user>-local-<queue>) and their err- DLQs',
    );
    expect(help.stdout).not.toContain('<user>-<env>-<queue>');
    expect(help.stdout).toMatch(/\nExamples:\n\s+npx create-be-worker image-resizer\s/);
    const version = await run('--version');
    expect(version.stdout.trim()).toBe(packageJson.version);
  });

  it('exits 2 and keeps the project when the install fails, printing the command to retry', async () => {
    const result = await execa('node', [CLI, 'broken-install', '--no-git'], {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      // An unreachable registry makes npm fail at once.
      env: { CI: 'true', npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' },
    });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.all).toContain(`cd ${join(cwd, 'broken-install')} && npm install`);
    // A failed step is never shown as done.
    expect(result.stdout).toContain('✖ Install failed');
    expect(result.stdout).not.toContain('✔ Install failed');
    expect(await readdir(join(cwd, 'broken-install'))).toContain('package.json');
  }, 120_000);
});

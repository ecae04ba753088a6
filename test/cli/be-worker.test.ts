import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const CREATE = join(REPO, 'bin', 'create-be-worker.js');
const run = (cwd: string, ...args: string[]) => execa('node', [BE_WORKER, ...args], { cwd, reject: false, all: true });

describe('be-worker info', () => {
  it('shows the queues of the worker it runs in, from any folder inside it, for any env', async () => {
    const cwd = await tempDir();
    await execa('node', [CREATE, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', '--no-git'], {
      cwd,
    });
    const local = await run(join(cwd, 'shop', 'src', 'tasks'), 'info');
    expect(local.exitCode, local.all).toBe(0);
    expect(local.stdout).toContain('orders → ann-local-orders (DLQ err-ann-local-orders), task ship');
    const prod = await run(join(cwd, 'shop'), 'info', '--env', 'prod');
    expect(prod.stdout).toContain('orders → prod-orders (DLQ err-prod-orders), task ship');
  });

  it('says where it looked when run outside a worker', async () => {
    const cwd = await tempDir();
    const result = await run(cwd, 'info');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`no be-worker.json in ${cwd}`);
  });

  it('names the broken field of a damaged be-worker.json', async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, 'w'));
    await writeFile(
      join(cwd, 'w', 'be-worker.json'),
      JSON.stringify({ cliVersion: '1', templateVersion: '1', answers: {} }),
    );
    const result = await run(join(cwd, 'w'), 'info');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('answers.name');
  });
});

describe('be-worker onboarding', () => {
  const create = async (...args: string[]) => {
    const cwd = await tempDir();
    await execa('node', [CREATE, ...args, '--no-install', '--no-git'], { cwd, env: { CI: 'true' } });
    return cwd;
  };

  it('prints the message of docs/onboarding.md step 2, with the real names and the git remote', async () => {
    const cwd = await create(
      'image-resizer',
      '--queue',
      'image-resizer-resize:resize:images',
      '--with',
      'sentry,ratelimit,tracing',
    );
    const worker = join(cwd, 'image-resizer');
    await execa('git', ['init', '--quiet'], { cwd: worker });
    await execa('git', ['remote', 'add', 'origin', 'git@github.com:<your-org>/image-resizer.git'], { cwd: worker });
    const result = await run(join(worker, 'src'), 'onboarding');
    expect(result.exitCode, result.all).toBe(0);
    // The guide shows this very message: it stays true as the message changes.
    const guide = await readFile(join(REPO, 'docs', 'onboarding.md'), 'utf8');
    const shown = guide.match(/```\n(Hi #gitlab![^`]*)```/)?.[1];
    expect(result.stdout).toBe(shown?.trimEnd());
  });

  it('asks only for what the worker uses, and takes the link from --repo', async () => {
    const cwd = await create('mailer', '--user', 'ann', '--queue', 'emails:send_email', '--none');
    const result = await run(join(cwd, 'mailer'), 'onboarding', '--repo', 'https://github.com/acme/mailer');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('• link https://github.com/acme/mailer to GitLab');
    expect(result.stdout).toContain('prod-emails (DLQ err-prod-emails)');
    expect(result.stdout).not.toContain('Sentry');
    expect(result.stdout).not.toContain('ratelimit');
  });

  it('is printed at the end of create-be-worker, with a placeholder for the link', async () => {
    const cwd = await tempDir();
    const created = await execa(
      'node',
      [CREATE, 'mailer', '--queue', 'emails:send_email', '--no-install', '--no-git'],
      {
        cwd,
        env: { CI: 'true' },
      },
    );
    expect(created.stdout).toContain('post in #gitlab (again any time: npm run be-worker -- onboarding)');
    expect(created.stdout).toContain('Hi #gitlab! We have a new worker, mailer: Runs mailer tasks from SQS');
    expect(created.stdout).toContain('• link <link to the repository> to GitLab');
  });
});

describe('be-worker --help', () => {
  it.each([
    'provision',
    'add-queue',
    'info',
    'iam-policy',
    'onboarding',
    'upgrade',
    'status',
    'dlq ls',
    'dlq peek',
    'dlq redrive',
    'dlq purge',
    'schedule add',
    'schedule ls',
    'schedule rm',
  ])('%s --help ends with examples to copy, run as the README says', async (name) => {
    const command = name.split(' ');
    const cwd = await tempDir();
    const result = await execa('node', [BE_WORKER, ...command, '--help'], {
      cwd,
      reject: false,
      env: { npm_config_user_agent: 'npm/11.0.0 node/v24.0.0 linux x64' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const examples = result.stdout.slice(result.stdout.indexOf('\nExamples:\n'));
    expect(examples, result.stdout).toMatch(new RegExp(`^\\s+npm run be-worker -- ${command.join(' ')}\\b`, 'm'));
  });

  it.each([[[]], [['dlq']], [['schedule']]])(
    'be-worker %j, asked for nothing, prints its help on stdout and exits 0',
    async (words) => {
      const cwd = await tempDir();
      const result = await execa('node', [BE_WORKER, ...words], { cwd, reject: false });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`Usage: be-worker ${words.join(' ')}`.trim());
      expect(result.stderr).toBe('');
    },
  );

  it('a word that is no command still says so, with the nearest command', async () => {
    const result = await execa('node', [BE_WORKER, 'dlq', 'pek'], { cwd: await tempDir(), reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('(Did you mean peek?)');
  });
});

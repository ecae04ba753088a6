// The interactive path of `create-be-worker`: the real bin in a real pseudo-terminal, so clack's
// prompts, their validation, Ctrl-C and `--yes` are exercised exactly as a user meets them.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { INTEGRATION_NAMES, type IntegrationName } from '../../src/integrations/index.ts';
import { KEYS, killTerminals, spawnInTerminal } from '../support/terminal.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'bin', 'create-be-worker.js');

const PROMPTS = {
  name: 'Worker name',
  description: 'Description',
  queues: 'Queues, comma-separated',
  integrations: 'Integrations',
} as const;
/** The rule in `workerNameSchema` (templates/worker/src/runtime/naming.ts). */
const NAME_RULE = 'lower-case letters, digits and single hyphens';
const { ENTER, CTRL_C, BACKSPACE, DOWN, SPACE } = KEYS;
/** The keys that move the integrations multiselect's cursor from the first to `name`. */
const to = (name: IntegrationName) => DOWN.repeat(INTEGRATION_NAMES.indexOf(name));

const temporary: string[] = [];
const spawnCli = (args: string[], cwd: string) => spawnInTerminal(CLI, args, cwd);

async function freshDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cbw-pty-'));
  temporary.push(directory);
  return directory;
}

interface Manifest {
  answers: {
    name: string;
    description: string;
    queues: { queue: string; task: string; ratelimit?: string }[];
    integrations: string[];
  };
}

async function readManifest(worker: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(worker, 'be-worker.json'), 'utf8')) as Manifest;
}

afterEach(async () => {
  killTerminals();
  await Promise.all(temporary.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('create-be-worker in a terminal', () => {
  it('asks for the name, description and queues, then writes the worker', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.name);
    cli.write(`pty-worker${ENTER}`);
    await cli.waitFor(PROMPTS.description);
    cli.write(`Resizes images from a terminal${ENTER}`);
    await cli.waitFor(PROMPTS.queues);
    // The default queue is there already, as text: the second is added to it.
    cli.write(`, images:resize:img-limit${ENTER}`);
    // The multiselect lists the integrations in INTEGRATION_NAMES' order, with ratelimit ticked (a
    // queue names one): tick sentry as well.
    await cli.waitFor(PROMPTS.integrations);
    cli.write(`${to('sentry')}${SPACE}${ENTER}`);

    expect(await cli.exited, cli.screen()).toBe(0);
    const worker = join(cwd, 'pty-worker');
    const { answers } = await readManifest(worker);
    expect(answers.name).toBe('pty-worker');
    expect(answers.description).toBe('Resizes images from a terminal');
    expect(answers.queues).toEqual([
      { queue: 'pty-worker-add', task: 'add' },
      { queue: 'images', task: 'resize', ratelimit: 'img-limit' },
    ]);
    const task = join(worker, 'src', 'tasks', 'resize.ts');
    expect(existsSync(task)).toBe(true);
    expect(await readFile(task, 'utf8')).toContain("name: 'resize'");
    expect(await readFile(join(worker, 'src', 'config', 'queues.ts'), 'utf8')).toContain("ratelimit: 'img-limit'");
    expect(answers.integrations).toEqual(['ratelimit', 'sentry']);
    expect(existsSync(join(worker, 'src', 'integrations', 'sentry.ts'))).toBe(true);
    expect(existsSync(join(worker, 'src', 'integrations', 'ratelimit.ts'))).toBe(true);
  });

  it('shows the naming rule for a bad name and keeps asking', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.name);
    cli.write(`Bad Name${ENTER}`);
    await cli.waitFor(NAME_RULE);
    // Still at the name prompt: the next question has not been asked.
    expect(cli.screen()).not.toContain(PROMPTS.description);

    cli.write(BACKSPACE.repeat('Bad Name'.length));
    cli.write(`good-name${ENTER}`);
    await cli.waitFor(PROMPTS.description);
    cli.write(ENTER);
    await cli.waitFor(PROMPTS.queues);
    cli.write(ENTER);
    await cli.waitFor(PROMPTS.integrations);
    cli.write(ENTER);

    expect(await cli.exited, cli.screen()).toBe(0);
    const { answers } = await readManifest(join(cwd, 'good-name'));
    expect(answers.name).toBe('good-name');
    expect(answers.description).toBe('Runs good-name tasks from SQS');
    expect(answers.queues).toEqual([{ queue: 'good-name-add', task: 'add' }]);
  });

  it('refuses two queues running the same task at the queues prompt and keeps asking', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--name', 'dup-worker', '--description', 'Two queues', '--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.queues);
    cli.write(BACKSPACE.repeat('dup-worker-add:add'.length));
    cli.write(`q:add, r:add${ENTER}`);
    await cli.waitFor('both run task "add"');
    // Still at the queues prompt: the next question has not been asked.
    expect(cli.screen()).not.toContain(PROMPTS.integrations);

    cli.write(BACKSPACE.repeat('add'.length));
    cli.write(`resize${ENTER}`);
    await cli.waitFor(PROMPTS.integrations);
    cli.write(ENTER);

    expect(await cli.exited, cli.screen()).toBe(0);
    const { answers } = await readManifest(join(cwd, 'dup-worker'));
    expect(answers.queues).toEqual([
      { queue: 'q', task: 'add' },
      { queue: 'r', task: 'resize' },
    ]);
  });

  it('never asks for an answer given as a flag', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--name', 'flag-worker', '--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.description);
    cli.write(`Given by flag${ENTER}`);
    await cli.waitFor(PROMPTS.queues);
    cli.write(ENTER);
    await cli.waitFor(PROMPTS.integrations);
    cli.write(ENTER);

    expect(await cli.exited, cli.screen()).toBe(0);
    expect(cli.screen()).not.toContain(PROMPTS.name);
    const { answers } = await readManifest(join(cwd, 'flag-worker'));
    expect(answers.name).toBe('flag-worker');
    expect(answers.description).toBe('Given by flag');
    expect(answers.queues).toEqual([{ queue: 'flag-worker-add', task: 'add' }]);
  });

  it('exits 130 on Ctrl-C at a prompt and writes nothing', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.name);
    cli.write(CTRL_C);

    expect(await cli.exited, cli.screen()).toBe(130);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('asks nothing with --yes', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--yes', '--name', 'yes-worker', '--no-install', '--no-git'], cwd);

    expect(await cli.exited, cli.screen()).toBe(0);
    for (const prompt of Object.values(PROMPTS)) expect(cli.screen()).not.toContain(prompt);
    const { answers } = await readManifest(join(cwd, 'yes-worker'));
    expect(answers.name).toBe('yes-worker');
    expect(existsSync(join(cwd, 'yes-worker', 'src', 'config', 'queues.ts'))).toBe(true);
  });

  it('refuses Enter on the empty name prompt: the example shown in grey is not an answer', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.name);
    expect(cli.screen()).toContain('image-resizer');
    cli.write(ENTER);
    await cli.waitFor('type one: "image-resizer", in grey, is only an example');
    expect(cli.screen()).not.toContain(PROMPTS.description);
    cli.write(`named${ENTER}`);
    await cli.waitFor(PROMPTS.description);
    cli.write(ENTER);
    await cli.waitFor(PROMPTS.queues);
    cli.write(ENTER);
    await cli.waitFor(PROMPTS.integrations);
    cli.write(ENTER);

    expect(await cli.exited, cli.screen()).toBe(0);
    expect((await readManifest(join(cwd, 'named'))).answers.queues).toEqual([{ queue: 'named-add', task: 'add' }]);
  });

  it('shows the default queue as text to add to: a second queue typed is added, not put in its place', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--name', 'two-q', '--description', 'd', '--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.queues);
    // What a new task takes, so that `npm run send -- shrink 4 5` is not a surprise.
    expect(cli.screen()).toContain('(add takes two numbers, any other task one string at first)');
    cli.write(`, thumbs:shrink${ENTER}`);
    await cli.waitFor(PROMPTS.integrations);
    cli.write(ENTER);

    expect(await cli.exited, cli.screen()).toBe(0);
    expect((await readManifest(join(cwd, 'two-q'))).answers.queues).toEqual([
      { queue: 'two-q-add', task: 'add' },
      { queue: 'thumbs', task: 'shrink' },
    ]);
  });

  it('refuses leaving out ratelimit while a queue names one, and asks again', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--name', 'limited', '--description', 'd', '--no-install', '--no-git'], cwd);

    await cli.waitFor(PROMPTS.queues);
    cli.write(`:adds${ENTER}`);
    await cli.waitFor(PROMPTS.integrations);
    // ratelimit is ticked for the queue's name: untick it.
    cli.write(`${to('ratelimit')}${SPACE}${ENTER}`);
    await cli.waitFor('queue "limited-add" names ratelimit "adds", which needs the ratelimit integration');
    await cli.waitFor(/Integrations[\s\S]*Integrations/);
    cli.write(`${to('ratelimit')}${SPACE}${ENTER}`);

    expect(await cli.exited, cli.screen()).toBe(0);
    expect((await readManifest(join(cwd, 'limited'))).answers.integrations).toEqual(['ratelimit']);
  });

  describe('a directory that is not empty', () => {
    async function taken(cwd: string): Promise<string> {
      const directory = join(cwd, 'taken');
      await mkdir(directory);
      await writeFile(join(directory, 'package.json'), '{"mine": true}\n');
      return directory;
    }
    const answerRest = async (cli: ReturnType<typeof spawnCli>) => {
      for (const prompt of [PROMPTS.name, PROMPTS.description, PROMPTS.queues, PROMPTS.integrations]) {
        await cli.waitFor(prompt);
        cli.write(ENTER);
      }
    };

    it('offers to write into it, keeping what it replaces in a backup', async () => {
      const cwd = await freshDir();
      const directory = await taken(cwd);
      const cli = spawnCli(['taken', '--no-install', '--no-git'], cwd);

      await cli.waitFor('taken is not empty');
      await cli.waitFor('Write into it');
      cli.write(ENTER);
      await answerRest(cli);

      expect(await cli.exited, cli.screen()).toBe(0);
      expect((await readManifest(directory)).answers.name).toBe('taken');
      const backup = (await readdir(cwd)).find((entry) => entry.startsWith('taken.backup-'));
      expect(await readFile(join(cwd, backup ?? 'none', 'package.json'), 'utf8')).toBe('{"mine": true}\n');
    });

    it('offers another directory, also when the directory comes from the name', async () => {
      const cwd = await freshDir();
      const directory = await taken(cwd);
      const cli = spawnCli(['--no-install', '--no-git'], cwd);

      await cli.waitFor(PROMPTS.name);
      cli.write(`taken${ENTER}`);
      for (const prompt of [PROMPTS.description, PROMPTS.queues, PROMPTS.integrations]) {
        await cli.waitFor(prompt);
        cli.write(ENTER);
      }
      await cli.waitFor('Choose another directory');
      cli.write(`${DOWN}${ENTER}`);
      await cli.waitFor('Directory');
      cli.write(`elsewhere${ENTER}`);

      expect(await cli.exited, cli.screen()).toBe(0);
      expect((await readManifest(join(cwd, 'elsewhere'))).answers.name).toBe('taken');
      expect(await readdir(directory)).toEqual(['package.json']);
    });

    it('offers to cancel: exit 130, nothing changed', async () => {
      const cwd = await freshDir();
      const directory = await taken(cwd);
      const cli = spawnCli(['taken', '--no-install', '--no-git'], cwd);

      await cli.waitFor('Cancel');
      cli.write(`${DOWN}${DOWN}${ENTER}`);

      expect(await cli.exited, cli.screen()).toBe(130);
      expect(await readdir(cwd)).toEqual(['taken']);
      expect(await readdir(directory)).toEqual(['package.json']);
    });
  });

  it('prints the onboarding message and the next steps as plain lines, ready to paste', async () => {
    const cwd = await freshDir();
    const cli = spawnCli(['--yes', '--name', 'plain-worker', '--no-install', '--no-git'], cwd);

    expect(await cli.exited, cli.screen()).toBe(0);
    const lines = cli.screen().split(/\r?\n/);
    const first = lines.findIndex((line) => line.includes('Hi #gitlab!'));
    const last = lines.findIndex((line) => line.includes('npm run test'));
    expect(first, cli.screen()).toBeGreaterThan(0);
    const message = lines.slice(first, last + 1);
    expect(message[0]).toMatch(/^Hi #gitlab! We have a new worker, plain-worker/);
    expect(message.find((line) => /[│┃|◇]/.test(line))).toBeUndefined();
    expect(message).toContain('Next steps:');
    expect(message).toContain('  cd plain-worker');
  });
});

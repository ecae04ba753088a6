// The interactive path of `create-be-worker`: the real bin in a real pseudo-terminal, so clack's
// prompts, their validation, Ctrl-C and `--yes` are exercised exactly as a user meets them.
// Every step waits on what is on the screen, never on a delay.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import * as pty from 'node-pty';
import { afterEach, describe, expect, it } from 'vitest';

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
const ENTER = '\r';
const CTRL_C = '\x03';
const BACKSPACE = '\x7f';
const DOWN = '\x1b[B';
const SPACE = ' ';

interface Cli {
  /** Everything printed so far, without ANSI escapes. */
  screen(): string;
  /** Resolves once `text` is on the screen; rejects on timeout or if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  write(s: string): void;
  /** The exit code. */
  exited: Promise<number>;
}

const running = new Set<pty.IPty>();
const temporary: string[] = [];

function spawnCli(args: string[], cwd: string): Cli {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  delete env.CI;
  env.TERM = 'xterm-256color';

  const terminal = pty.spawn(process.execPath, [CLI, ...args], {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    cwd,
    env,
  });
  running.add(terminal);

  let output = '';
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  terminal.onData((chunk) => {
    output += chunk;
    notify();
  });
  const exited = new Promise<number>((resolve) => {
    terminal.onExit(({ exitCode }) => {
      done = true;
      running.delete(terminal);
      notify();
      resolve(exitCode);
    });
  });
  const screen = () => stripVTControlCharacters(output);
  const found = (text: string | RegExp) => (typeof text === 'string' ? screen().includes(text) : text.test(screen()));

  return {
    screen,
    write: (s) => terminal.write(s),
    exited,
    waitFor: (text, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (found(text)) finish();
          else if (done) finish(new Error(`the CLI exited before ${String(text)} appeared; screen:\n${screen()}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${String(text)}; screen:\n${screen()}`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
      }),
  };
}

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
  for (const terminal of running) terminal.kill();
  running.clear();
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
    cli.write(`pty-worker-add:add, images:resize:img-limit${ENTER}`);
    // The multiselect lists fluent, ratelimit, sentry: pick the third.
    await cli.waitFor(PROMPTS.integrations);
    cli.write(`${DOWN}${DOWN}${SPACE}${ENTER}`);

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
    expect(answers.integrations).toEqual(['sentry']);
    expect(existsSync(join(worker, 'src', 'integrations', 'sentry.ts'))).toBe(true);
    expect(existsSync(join(worker, 'src', 'integrations', 'ratelimit.ts'))).toBe(false);
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
});

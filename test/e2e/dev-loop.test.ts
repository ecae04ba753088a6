// The dev loop of a worker made for a shared env (`--env dev`), as its printed next steps run it:
// `npm run dev`, then `npm run send -- add 2 3` in another terminal; a queue added while dev runs;
// a task the schema refuses sent anyway (for the DLQ alert); logs for a terminal and for a pipe;
// and .env's local settings kept out of a shared env.
import { appendFile, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import * as pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, freePort, REPO, runGrouped, sample, waitFor } from '../support/process.ts';

const MINUTES = 60_000;
const tasks = (task: string, queue: string, state: string) =>
  `envdev_worker_tasks_count_total{name="${task}",queue="${queue}",state="${state}"}`;

let worker: string;

/** The worker's environment for one `npm run dev`: a free port for its SQS and for HTTP, no AWS. */
async function devEnv() {
  return {
    SQS_ENDPOINT: `http://localhost:${await freePort()}`,
    HTTP_PORT: String(await freePort()),
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
  };
}

const npm = (args: string[], env: Record<string, string>) => runGrouped('npm', args, { cwd: worker, env });

beforeAll(async () => {
  // Made with every integration, so the all-on worker's node_modules serve it as they are.
  const parent = await mkdtemp(join(tmpdir(), 'cbw-envdev-'));
  await execa(
    'node',
    [CLI, 'envdev', '--env', 'dev', '--all', '--no-install', '--no-git', '--user', 'itest', '--yes'],
    { cwd: parent, env: { CI: 'true' } },
  );
  worker = join(parent, 'envdev');
  await symlink(join(inject('allOnWorker'), 'node_modules'), join(worker, 'node_modules'), 'dir');
}, 2 * MINUTES);

describe('npm run dev on a worker made with --env dev', () => {
  let dev: ResultPromise;
  let env: Awaited<ReturnType<typeof devEnv>>;
  const metric = async (series: string) =>
    sample(await (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/metrics`)).text(), series);

  beforeAll(async () => {
    env = await devEnv();
    // Its own process group, to be signalled as a terminal's Ctrl-C signals one: npm, sh, dev and the worker.
    dev = execa('npm', ['run', 'dev'], { cwd: worker, env, reject: false, all: true, detached: true });
    await waitFor(
      'the dev worker to be ready',
      async () => ((await fetch(`http://127.0.0.1:${env.HTTP_PORT}/readyz`)).ok ? true : undefined),
      30_000,
    );
  }, MINUTES);

  afterAll(async () => {
    try {
      process.kill(-(dev?.pid ?? 0), 'SIGKILL');
    } catch {
      // The group has ended.
    }
    await dev;
  });

  it('runs the task sent with `npm run send -- add 2 3`, from and to the local queues', async () => {
    const sent = await npm(['run', 'send', '--', 'add', '2', '3'], env);
    expect(sent.exitCode, sent.all).toBe(0);
    expect(sent.stdout).toMatch(
      new RegExp(`Sent add\\[2,3\\] as [0-9a-f-]{36} to itest-local-envdev-add, SQS at ${env.SQS_ENDPOINT} `),
    );
    expect(await waitFor('add to succeed', () => metric(tasks('add', 'envdev-add', 'succeeded')))).toBe(1);
  });

  it('sends with --unchecked what the schema refuses, and the worker dead-letters it', async () => {
    const refused = await npm(['run', 'send', '--', 'add', '2', 'x'], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('--unchecked');
    const sent = await npm(['run', 'send', '--', '--unchecked', 'add', '2', 'x'], env);
    expect(sent.exitCode, sent.all).toBe(0);
    expect(await waitFor('add to be dead-lettered', () => metric(tasks('add', 'envdev-add', 'dead_lettered')))).toBe(1);
  });

  it(
    'creates the queue be-worker add-queue adds while it runs, and runs its tasks',
    async () => {
      const added = await execa('node', [join(REPO, 'bin', 'be-worker.js'), 'add-queue', 'extra'], {
        cwd: worker,
        reject: false,
        all: true,
      });
      expect(added.exitCode, added.all).toBe(0);
      // The watcher restarts the worker, which creates the new pair on the local SQS first.
      await waitFor(
        'the restarted worker to take tasks for the new queue',
        async () => ((await npm(['run', 'send', '--', 'extra', 'hello'], env)).exitCode === 0 ? true : undefined),
        30_000,
      );
      expect(await waitFor('extra to succeed', () => metric(tasks('extra', 'extra', 'succeeded')))).toBe(1);
    },
    MINUTES,
  );

  it(
    'runs a task sent right after a restart on change at once: the old worker abandons no long poll to take it',
    async () => {
      const started = async () => metric('process_start_time_seconds');
      // A race with the old worker's last poll: each try restarts at another point of it.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const before = await started();
        await appendFile(join(worker, 'src', 'tasks', 'add.ts'), '// touch\n');
        await waitFor(
          'the worker to restart',
          async () =>
            (await started()) !== before && (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/readyz`)).ok
              ? true
              : undefined,
          30_000,
        );
        const sent = await npm(['run', 'send', '--', 'add', '7', String(attempt)], env);
        expect(sent.exitCode, sent.all).toBe(0);
        // Within the wait for a task sent to an idle worker, far less than the 30 s visibility
        // timeout a message taken by an abandoned poll stays hidden for.
        expect(
          await waitFor(`add 7 ${attempt} to succeed`, () => metric(tasks('add', 'envdev-add', 'succeeded')), 20_000),
        ).toBe(1);
      }
    },
    3 * MINUTES,
  );

  it('logs JSON lines into a pipe, saying which SQS and why, and stops on Ctrl-C', async () => {
    process.kill(-(dev.pid ?? 0), 'SIGINT');
    const { all } = await dev;
    expect(all).toMatch(/^\{"level":30,.*"msg":"worker started"\}$/m);
    expect(all).toContain(`"msg":"SQS at ${env.SQS_ENDPOINT} (SQS_ENDPOINT from the environment)"`);
    expect(all).toContain('Queues on the local SQS: itest-local-envdev-add, itest-local-extra');
    // npm itself ends by the signal, as in a terminal; the worker has drained and stopped. The one
    // Ctrl-C reached it from the terminal and through npm and watch mode: still one graceful stop.
    expect(all).toContain('worker stopped');
    expect(all).not.toContain('second signal');
  });
});

describe('npm run dev in a terminal', () => {
  it(
    'logs pretty lines, not JSON',
    async () => {
      const env = await devEnv();
      const terminal = pty.spawn('npm', ['run', 'dev'], {
        cwd: worker,
        env: { ...process.env, ...env },
        cols: 200,
      } as pty.IPtyForkOptions);
      let screen = '';
      terminal.onData((data) => {
        screen += data;
      });
      const exited = new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
      try {
        await waitFor(
          'the worker to start',
          async () => (screen.includes('worker started') ? true : undefined),
          30_000,
        );
      } finally {
        terminal.write('\x03'); // Ctrl-C, to the whole foreground process group
      }
      expect(await exited).toBe(0);
      expect(screen).toMatch(/INFO.* \(envdev\): .*worker started/);
      expect(screen).not.toContain('{"level"');
    },
    MINUTES,
  );
});

describe("the .env's local settings", () => {
  it(
    'never take a shared env to the local SQS: SQS_ENDPOINT from .env is refused with APP_ENV=dev',
    async () => {
      const built = await npm(['run', 'build'], {});
      expect(built.exitCode, built.all).toBe(0);
      const port = await freePort();
      await appendFile(join(worker, '.env'), `SQS_ENDPOINT=http://localhost:${port}\n`);
      const env = { HTTP_PORT: String(await freePort()) };

      const shared = await npm(['run', '--silent', 'start'], { ...env, APP_ENV: 'dev' });
      expect(shared.stderr.trim().split('\n')).toEqual([
        `envdev cannot start: SQS_ENDPOINT comes from .env, whose settings are for APP_ENV=local, but APP_ENV is dev: remove it from .env to use AWS, or set SQS_ENDPOINT in the environment if dev has an SQS of its own`,
      ]);
      expect(shared.exitCode).toBe(1);

      // Locally it is used, and the worker says where it came from.
      const local = await npm(['run', '--silent', 'start'], env);
      expect(local.stdout).toContain(`"msg":"SQS at http://localhost:${port} (SQS_ENDPOINT from .env)"`);
      expect(local.exitCode).toBe(1);
    },
    MINUTES,
  );
});

// src/config/schedules.ts in a generated worker: `npm run dev` fires a rate(1 minute) schedule into
// its local SQS, where the worker runs the task (counted for its schedule); LOCAL_SCHEDULES=off
// turns that off; a schedule AWS would refuse stops `npm run dev` and the worker itself in one line.
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, freePort, runGrouped, sample, waitFor } from '../support/process.ts';

const MINUTES = 60_000;
let worker: string;
let dev: ResultPromise | undefined;

async function devEnv(more: Record<string, string> = {}) {
  return {
    SQS_ENDPOINT: `http://localhost:${await freePort()}`,
    HTTP_PORT: String(await freePort()),
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    ...more,
  };
}

/** Writes src/config/schedules.ts with these entries (TypeScript source). */
const writeSchedules = (entries: string) =>
  writeFile(
    join(worker, 'src', 'config', 'schedules.ts'),
    `import { type ScheduleEntry, schedule } from '../runtime/index.ts';
import { add } from '../tasks/add.ts';

export const schedules: ScheduleEntry[] = [
${entries}
];
`,
  );

const EVERY_MINUTE = `  schedule({ name: 'every-minute', task: add, args: [20, 22], expression: 'rate(1 minute)' }),`;

beforeAll(async () => {
  const parent = await mkdtemp(join(tmpdir(), 'cbw-sched-'));
  await execa('node', [CLI, 'sched', '--all', '--no-install', '--no-git', '--user', 'itest', '--yes'], {
    cwd: parent,
    env: { CI: 'true' },
  });
  worker = join(parent, 'sched');
  await symlink(join(inject('allOnWorker'), 'node_modules'), join(worker, 'node_modules'), 'dir');
}, 2 * MINUTES);

afterEach(async () => {
  if (!dev?.pid) return;
  try {
    process.kill(-dev.pid, 'SIGKILL');
  } catch {
    // The group has ended.
  }
  await dev;
  dev = undefined;
});

/** `npm run dev` in its own process group; its output so far. */
function startDev(env: Record<string, string>) {
  let output = '';
  dev = execa('npm', ['run', 'dev'], { cwd: worker, env, reject: false, all: true, detached: true });
  dev.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return () => output;
}

describe('schedules in npm run dev', () => {
  it(
    'fires a rate(1 minute) schedule into the local SQS, where the worker runs its task, counted for the schedule',
    async () => {
      await writeSchedules(EVERY_MINUTE);
      const env = await devEnv();
      const output = startDev(env);
      await waitFor('dev to say which schedules it fires', async () =>
        output().includes('every-minute: add on sched-add, rate(1 minute), next at') ? true : undefined,
      );
      expect(output()).toContain('Schedules fired here, on the local SQS (LOCAL_SCHEDULES=off turns this off');
      const succeeded = await waitFor(
        'the scheduled add to succeed',
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/metrics`)).text();
          return sample(text, 'sched_schedule_runs_total{schedule="every-minute",state="succeeded"}');
        },
        3 * MINUTES,
      );
      expect(succeeded).toBeGreaterThanOrEqual(1);
      const sent = output().match(
        /Schedule every-minute sent add \(id ([0-9a-f-]{36}), for (\S+)\) to itest-local-sched-add; next at/,
      );
      expect(sent, output()).not.toBeNull();
      // The worker ran the task the schedule sent, by the id the firing gave it.
      expect(output()).toContain(`"id":"${sent?.[1]}"`);
    },
    5 * MINUTES,
  );

  it(
    'fires nothing with LOCAL_SCHEDULES=off, and says so',
    async () => {
      await writeSchedules(EVERY_MINUTE);
      const env = await devEnv({ LOCAL_SCHEDULES: 'off' });
      const output = startDev(env);
      await waitFor(
        'the dev worker to be ready',
        async () => ((await fetch(`http://127.0.0.1:${env.HTTP_PORT}/readyz`)).ok ? true : undefined),
        MINUTES,
      );
      expect(output()).toContain('Schedules not fired here (LOCAL_SCHEDULES=off from the environment): every-minute');
      expect(output()).not.toContain('Schedules fired here');
    },
    2 * MINUTES,
  );

  it('refuses LOCAL_SCHEDULES=maybe in one line naming it', async () => {
    await writeSchedules(EVERY_MINUTE);
    const result = await runGrouped('npm', ['run', '--silent', 'dev'], {
      cwd: worker,
      env: await devEnv({ LOCAL_SCHEDULES: 'maybe' }),
    });
    expect(result.stderr.trim()).toBe(
      'sched cannot start: LOCAL_SCHEDULES is "maybe" (from the environment): set it to off to fire no schedules here, or on (the default)',
    );
    expect(result.exitCode).toBe(1);
  });

  it.each([
    ['npm run dev', ['npm', 'run', '--silent', 'dev']],
    ['the worker itself (src/main.ts)', ['node', '--env-file-if-exists=.env', 'src/main.ts']],
  ])('stops %s at a schedule AWS would refuse, in one line naming the schedule and the field', async (_, command) => {
    await writeSchedules(
      `  schedule({ name: 'nightly', task: add, args: [1, 2], expression: 'cron(0 2 * * *)', timezone: 'Europe/Paris' }),`,
    );
    const [file = '', ...args] = command;
    const result = await runGrouped(file, args, { cwd: worker, env: await devEnv() });
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.all).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^sched cannot start: schedule "nightly": expression "cron\(0 2 \* \* \*\)" is not one EventBridge accepts: /,
    );
    expect(result.exitCode).toBe(1);
  });
});

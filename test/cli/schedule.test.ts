// `be-worker schedule add|ls|rm` on a generated worker (its node_modules those of the global
// set-up's): add writes an entry that typechecks, rm takes it out again byte for byte, a refusal
// is one sentence from the worker's own resolve and changes no byte, ls shows the next runs.
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type MotoServer, startMoto } from '../support/moto.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';
import { KEYS, killTerminals, spawnInTerminal } from '../support/terminal.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const SCHEDULES = 'src/config/schedules.ts';
let template: string;
let worker: string;

const schedule = (...args: string[]) =>
  execa('node', [BE_WORKER, 'schedule', ...args], { cwd: worker, reject: false, all: true, stdin: 'ignore' });
const read = (path: string) => readFile(join(worker, path), 'utf8');

/** Every file of the worker but node_modules, path → contents. */
async function snapshot(): Promise<Map<string, string>> {
  const entries = await readdir(worker, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && !entry.parentPath.includes('node_modules'));
  return new Map(
    await Promise.all(
      files.map(async (entry) => {
        const path = relative(worker, join(entry.parentPath, entry.name));
        return [path, await read(path)] as const;
      }),
    ),
  );
}

// One worker "shop" is generated; each test gets a copy (cp is much cheaper than a generation).
beforeAll(async () => {
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--queue', 'mail:send_mail', '--no-install', '--no-git'],
    { cwd },
  );
  template = join(cwd, 'shop');
}, 120_000);

beforeEach(async () => {
  worker = join(await tempDir(), 'shop');
  await execa('cp', ['-r', template, worker]);
  await symlink(join(inject('allOnWorker'), 'node_modules'), join(worker, 'node_modules'), 'dir');
});

describe('be-worker schedule add', () => {
  it('writes an entry that typechecks, importing its task, and rm takes it out byte for byte', async () => {
    const before = await read(SCHEDULES);
    const added = await schedule(
      'add',
      'nightly-ship',
      '--task',
      'ship',
      '--args',
      '["parcels"]',
      '--expression',
      'cron(0 3 * * ? *)',
      '--timezone',
      'Europe/Paris',
      '--flexible-window',
      '15',
    );
    expect(added.exitCode, added.all).toBe(0);
    expect(added.stdout).toContain(`updated ${SCHEDULES}`);
    const after = await read(SCHEDULES);
    expect(after).toContain("import { ship } from '../tasks/ship.ts';");
    expect(after).toContain(
      [
        "    name: 'nightly-ship',",
        '    task: ship,',
        "    args: ['parcels'],",
        "    expression: 'cron(0 3 * * ? *)',",
        "    timezone: 'Europe/Paris',",
        '    flexibleWindowMinutes: 15,',
      ].join('\n'),
    );
    const typecheck = await execa('node_modules/.bin/tsc', ['--noEmit'], { cwd: worker, reject: false, all: true });
    expect(typecheck.exitCode, typecheck.all).toBe(0);

    // A second one for the same task: the import is there already, and stays while one uses it.
    const second = await schedule('add', 'hourly', '--task', 'ship', '--args', '["x"]', '--expression', 'rate(1 hour)');
    expect(second.exitCode, second.all).toBe(0);
    expect((await read(SCHEDULES)).match(/^import \{ ship \}/gm)).toHaveLength(1);
    expect((await schedule('rm', 'hourly')).exitCode).toBe(0);
    expect(await read(SCHEDULES)).toBe(after);

    const removed = await schedule('rm', 'nightly-ship');
    expect(removed.exitCode, removed.all).toBe(0);
    expect(await read(SCHEDULES)).toBe(before);
  }, 120_000);

  it('takes kwargs, a start and an end, a description; --dry-run prints the diff and writes nothing', async () => {
    const before = await snapshot();
    const result = await schedule(
      'add',
      'mail.weekly_1',
      '--task',
      'send_mail',
      '--args',
      '["weekly"]',
      '--expression',
      'cron(30 8 ? * MON#1 *)',
      '--start',
      '2030-01-01T00:00:00Z',
      '--end',
      '2031-01-01T00:00:00Z',
      '--description',
      "the team's digest",
      '--dry-run',
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain("+import { sendMail } from '../tasks/send_mail.ts';");
    expect(result.stdout).toContain("+    name: 'mail.weekly_1',");
    expect(result.stdout).toContain('+    task: sendMail,');
    expect(result.stdout).toContain("+    start: '2030-01-01T00:00:00Z',");
    expect(result.stdout).toContain(`+    description: "the team's digest",`);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    [['ghost', '--task', 'no_such_task', '--args', '[]', '--expression', 'rate(1 day)'], /no_such_task/],
    [['n'.repeat(65), '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)'], /name/],
    [['bad-cron', '--task', 'ship', '--args', '["a"]', '--expression', 'cron(0 3 * * * *)'], /bad-cron/],
    [['bad-rate', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(0 minutes)'], /bad-rate/],
    [['bad-args', '--task', 'ship', '--args', '[42]', '--expression', 'rate(1 day)'], /bad-args/],
    [
      ['bad-zone', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)', '--timezone', 'Mars/Olympus'],
      /Mars\/Olympus/,
    ],
    [['bad-json', '--task', 'ship', '--args', '["a"', '--expression', 'rate(1 day)'], /--args/],
    [
      ['bad-window', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)', '--flexible-window', '1441'],
      /1441/,
    ],
  ])(
    'refuses %j in one sentence and writes nothing',
    async (args, says) => {
      const before = await snapshot();
      const result = await schedule('add', ...args);
      expect(result.exitCode, result.all).toBe(1);
      const message = result.stderr.trim();
      expect(message.split('\n'), message).toHaveLength(1);
      expect(message.startsWith('✖ '), message).toBe(true);
      expect(message).toMatch(says);
      expect(message).not.toContain('Unexpected error');
      expect(await snapshot()).toEqual(before);
    },
    60_000,
  );

  it('refuses a name already taken, and rm of a schedule that does not exist, naming them', async () => {
    expect(
      (await schedule('add', 'daily', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)')).exitCode,
    ).toBe(0);
    const before = await snapshot();
    const taken = await schedule(
      'add',
      'daily',
      '--task',
      'send_mail',
      '--args',
      '["a"]',
      '--expression',
      'rate(2 days)',
    );
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toContain(`schedule "daily" is already in ${SCHEDULES}`);
    const missing = await schedule('rm', 'nightly');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`no schedule "nightly" in ${SCHEDULES}; its schedules: daily`);
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it('keeps hand edits: comments, other entries, double quotes', async () => {
    await schedule('add', 'first', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)');
    const edited = (await read(SCHEDULES))
      .replaceAll("'", '"')
      .replace('\n  schedule({', '\n  // Ours: keep it.\n  schedule({');
    await writeFile(join(worker, SCHEDULES), edited);
    const result = await schedule(
      'add',
      'second',
      '--task',
      'send_mail',
      '--args',
      '["b"]',
      '--expression',
      'rate(7 days)',
    );
    expect(result.exitCode, result.all).toBe(0);
    const after = await read(SCHEDULES);
    expect(after).toContain('import { sendMail } from "../tasks/send_mail.ts";');
    expect(after).toContain('  // Ours: keep it.\n  schedule({\n    name: "first",');
    expect(after).toContain(
      '    name: "second",\n    task: sendMail,\n    args: ["b"],\n    expression: "rate(7 days)",',
    );
    expect((await schedule('rm', 'second')).exitCode).toBe(0);
    expect(await read(SCHEDULES)).toBe(edited);
  }, 60_000);

  it('without a terminal: names what is missing, asks nothing', async () => {
    const result = await schedule('add');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(/^✖ missing <name>: .*nothing is asked without a terminal\)$/);
    const noTask = await schedule('add', 'x', '--expression', 'rate(1 day)');
    expect(noTask.exitCode).toBe(1);
    expect(noTask.stderr).toContain('missing --task');
  });
});

describe('be-worker schedule ls', () => {
  it('shows each schedule with its next three runs in its time zone', async () => {
    const add = (...args: string[]) => schedule('add', ...args);
    expect(
      (
        await add(
          'new-year',
          '--task',
          'ship',
          '--args',
          '["a"]',
          '--expression',
          'cron(0 3 1 1 ? 2030-2032)',
          '--timezone',
          'Asia/Tokyo',
        )
      ).exitCode,
    ).toBe(0);
    expect(
      (
        await add(
          'quarter',
          '--task',
          'send_mail',
          '--args',
          '["q"]',
          '--expression',
          'cron(15 23 L 3/3 ? 2031)',
          '--timezone',
          'America/New_York',
        )
      ).exitCode,
    ).toBe(0);
    const result = await schedule('ls');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('new-year  cron(0 3 1 1 ? 2030-2032) in Asia/Tokyo');
    expect(result.stdout).toContain('runs ship on queue orders, args ["a"]');
    expect(result.stdout).toContain('next: 2030-01-01 03:00, 2031-01-01 03:00, 2032-01-01 03:00');
    expect(result.stdout).toContain('quarter  cron(15 23 L 3/3 ? 2031) in America/New_York');
    expect(result.stdout).toContain('next: 2031-03-31 23:15, 2031-06-30 23:15, 2031-09-30 23:15');
    const json = await schedule('ls', '--json');
    expect(json.exitCode, json.all).toBe(0);
    const listed = JSON.parse(json.stdout);
    expect(listed.map((entry: { name: string }) => entry.name)).toEqual(['new-year', 'quarter']);
    expect(listed[0].nextRuns).toEqual([
      '2029-12-31T18:00:00.000Z',
      '2030-12-31T18:00:00.000Z',
      '2031-12-31T18:00:00.000Z',
    ]);
  }, 60_000);

  it('a worker with no schedules file (made before schedules) has none, and says how to add one', async () => {
    await rm(join(worker, SCHEDULES));
    const result = await schedule('ls');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('No schedules');
  });

  it('a hand edit that resolve refuses is one sentence, from the worker', async () => {
    await schedule('add', 'ok', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)');
    await writeFile(join(worker, SCHEDULES), (await read(SCHEDULES)).replace("args: ['a']", 'args: [1] as never'));
    const result = await schedule('ls');
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('"ok"');
  }, 60_000);
});

describe('be-worker schedule ls --env, against moto', () => {
  let moto: MotoServer;
  let endpoint: string;
  beforeAll(async () => {
    moto = await startMoto();
    endpoint = moto.endpoint;
  }, 40_000);
  afterAll(() => moto?.stop());

  it('says of each schedule whether it is provisioned and in step, drifted or missing, and names the strays', async () => {
    const add = (name: string, expression: string) =>
      schedule('add', name, '--task', 'ship', '--args', '["a"]', '--expression', expression);
    for (const [name, expression] of [
      ['steady', 'rate(1 day)'],
      ['moved', 'rate(2 days)'],
      ['gone', 'rate(3 days)'],
    ] as const) {
      expect((await add(name, expression)).exitCode).toBe(0);
    }
    const { answers } = JSON.parse(await read('be-worker.json'));
    const { provision } = await import('../../src/provision.ts');
    const { loadSchedules } = await import('../../src/schedules/load.ts');
    const { readQueues } = await import('../../src/source/queues-file.ts');
    const provisioned = await provision({
      worker: answers.name,
      queues: readQueues(await read('src/config/queues.ts')),
      env: 'prod',
      user: answers.user,
      region: answers.region,
      endpoint,
      schedules: await loadSchedules(worker),
    });
    expect(provisioned.schedules?.entries.map(({ name }) => name)).toEqual(['steady', 'moved', 'gone']);

    expect((await schedule('rm', 'moved')).exitCode).toBe(0);
    expect((await add('moved', 'rate(5 days)')).exitCode).toBe(0);
    expect((await schedule('rm', 'gone')).exitCode).toBe(0);
    expect((await add('new', 'rate(7 days)')).exitCode).toBe(0);
    const result = await schedule('ls', '--env', 'prod', '--endpoint', endpoint);
    expect(result.exitCode, result.all).toBe(0);
    const blocks = result.stdout.split('\n\n');
    expect(blocks.find((block) => block.startsWith('steady'))).toContain('in prod: provisioned, in step');
    expect(blocks.find((block) => block.startsWith('moved'))).toContain(
      'in prod: provisioned, drifted (ScheduleExpression); npm run be-worker -- provision --env prod --fix puts it in step',
    );
    expect(blocks.find((block) => block.startsWith('new'))).toContain(
      'in prod: missing; npm run be-worker -- provision --env prod creates it',
    );
    expect(result.stdout).toContain(
      'In prod but not in src/config/schedules.ts: gone; npm run be-worker -- provision --env prod --prune deletes them.',
    );
    const json = JSON.parse((await schedule('ls', '--env', 'prod', '--endpoint', endpoint, '--json')).stdout);
    expect(json.map(({ name, status }: { name: string; status: unknown }) => [name, status])).toEqual([
      ['steady', { env: 'prod', state: 'in step' }],
      ['moved', { env: 'prod', state: 'drifted', fields: ['ScheduleExpression'] }],
      ['new', { env: 'prod', state: 'missing' }],
    ]);
  }, 120_000);

  it('in env local: says npm run dev fires them, asking no AWS', async () => {
    expect(
      (await schedule('add', 'steady', '--task', 'ship', '--args', '["a"]', '--expression', 'rate(1 day)')).exitCode,
    ).toBe(0);
    const result = await schedule('ls', '--env', 'local', '--endpoint', endpoint);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('npm run dev fires the schedules itself');
  }, 60_000);
});

describe('be-worker schedule add in a terminal', () => {
  afterEach(killTerminals);

  it('asks the name, the task, the expression (its rule on a bad one), the time zone and the args', async () => {
    const cli = spawnInTerminal(BE_WORKER, ['schedule', 'add'], worker);
    await cli.waitFor('Schedule name');
    cli.write(`nightly${KEYS.ENTER}`);
    await cli.waitFor('Task it runs');
    cli.write(KEYS.ENTER); // the first task in the list: send_mail
    await cli.waitFor('Expression');
    cli.write(`cron(0 3 * * * *)${KEYS.ENTER}`);
    await cli.waitFor(/\?/);
    for (let i = 0; i < 'cron(0 3 * * * *)'.length; i++) cli.write(KEYS.BACKSPACE);
    cli.write(`cron(0 3 * * ? *)${KEYS.ENTER}`);
    await cli.waitFor('Time zone');
    cli.write(`Europe/Berlin${KEYS.ENTER}`);
    await cli.waitFor('Arguments');
    cli.write(`["hi"]${KEYS.ENTER}`);
    expect(await cli.exited, cli.screen()).toBe(0);
    const after = await read(SCHEDULES);
    expect(after).toContain("name: 'nightly',\n    task: sendMail,\n    args: ['hi'],");
    expect(after).toContain("timezone: 'Europe/Berlin',");
  }, 60_000);

  it('Ctrl-C at the task question: exit 130, no byte changed', async () => {
    const before = await snapshot();
    const cli = spawnInTerminal(BE_WORKER, ['schedule', 'add'], worker);
    await cli.waitFor('Schedule name');
    cli.write(`nightly${KEYS.ENTER}`);
    await cli.waitFor('Task it runs');
    cli.write(KEYS.CTRL_C);
    expect(await cli.exited, cli.screen()).toBe(130);
    expect(await snapshot()).toEqual(before);
  }, 60_000);
});

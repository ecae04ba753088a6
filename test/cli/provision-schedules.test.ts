// `be-worker provision` and `be-worker iam-policy` on a worker with schedules, as a user runs them:
// the schedules loaded by the worker's own code (its node_modules those of the global set-up's),
// provisioned in moto's server (EventBridge Scheduler, IAM, STS, SQS) through a proxy that records
// what the CLI sent.
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IamPolicies } from '../../src/iam-policy.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';
import { CLI, noAwsEnv, REPO, tempDir } from '../support/process.ts';
import { type RecordedCall, type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const SCHEDULES = 'src/config/schedules.ts';
let moto: MotoServer;
let proxy: RecordingProxy;
let worker: string;

/** The worker's schedules file, written as a team would. */
const schedulesFile = (entries: string[]) =>
  [
    "import { schedule } from '../runtime/schedules.ts';",
    "import { ship } from '../tasks/ship.ts';",
    '',
    `export const schedules = [${entries.join(', ')}];`,
    '',
  ].join('\n');
const NIGHTLY =
  "schedule({ name: 'nightly-ship', task: ship, args: ['parcels'], expression: 'cron(0 3 * * ? *)', timezone: 'Europe/Paris', flexibleWindowMinutes: 15 })";
const HOURLY = "schedule({ name: 'hourly', task: ship, args: ['late'], expression: 'rate(1 hour)' })";

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startRecordingProxy(moto.endpoint);
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', '--no-git'], { cwd });
  worker = join(cwd, 'shop');
  await symlink(join(inject('allOnWorker'), 'node_modules'), join(worker, 'node_modules'), 'dir');
  await writeFile(join(worker, SCHEDULES), schedulesFile([NIGHTLY, HOURLY]));
}, 120_000);
afterAll(async () => {
  await proxy?.close();
  moto?.stop();
});

const beWorker = (...args: string[]) =>
  execa('node', [BE_WORKER, ...args], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    extendEnv: false,
    env: noAwsEnv(worker),
  });

const writes = (calls: RecordedCall[]) =>
  calls
    .filter(({ service, method, operation }) =>
      service === 'scheduler' ? method !== 'GET' : service === 'iam' && !/^(Get|List)/.test(operation),
    )
    .map(({ service, operation }) => `${service} ${operation}`);

describe('be-worker provision, with schedules', () => {
  it('--dry-run shows the group, the role and the schedules, and writes nothing', async () => {
    proxy.take();
    const result = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--dry-run');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/^Schedule group shop-dev: create$/m);
    expect(result.stdout).toMatch(/^nightly-ship\s+create\s+cron\(0 3 \* \* \? \*\) Europe\/Paris → orders$/m);
    expect(result.stdout).toMatch(/^hourly\s+create\s+rate\(1 hour\) UTC → orders$/m);
    expect(writes(proxy.take())).toEqual([]);
  });

  it('creates them, each sending the message the worker made for it; a rerun changes nothing', async () => {
    proxy.take();
    const result = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/^Schedule group shop-dev: created$/m);
    expect(result.stdout).toMatch(/^nightly-ship\s+created/m);
    expect(result.stdout).toContain("KEDA's, and what provisioning the schedules needs: ");
    const calls = proxy.take();
    expect(writes(calls)).toEqual([
      'scheduler POST /schedule-groups/shop-dev',
      'iam CreateRole',
      'iam PutRolePolicy',
      'scheduler POST /schedules/nightly-ship',
      'scheduler POST /schedules/hourly',
    ]);
    const target = calls.find(({ path }) => path === '/schedules/nightly-ship')?.body.Target as {
      Arn: string;
      Input: string;
    };
    expect(target.Arn).toBe('arn:aws:sqs:us-west-1:123456789012:dev-orders');
    const message = JSON.parse(target.Input);
    expect(message.headers).toMatchObject({ task: 'ship', id: '<aws.scheduler.execution-id>' });

    proxy.take();
    const again = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes');
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toMatch(/^Schedule group shop-dev: in place$/m);
    expect(again.stdout).toMatch(/^nightly-ship\s+unchanged/m);
    expect(writes(proxy.take())).toEqual([]);
  });

  it('an edit in schedules.ts is drift, field by field, until --fix', async () => {
    await writeFile(join(worker, SCHEDULES), schedulesFile([NIGHTLY.replace('cron(0 3', 'cron(0 4'), HOURLY]));
    const drift = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes');
    expect(drift.stdout).toMatch(
      /^nightly-ship\s+drift\s+ScheduleExpression: cron\(0 3 \* \* \? \*\) → cron\(0 4 \* \* \? \*\)$/m,
    );
    proxy.take();
    const fixed = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes', '--fix');
    expect(fixed.exitCode, fixed.all).toBe(0);
    expect(fixed.stdout).toMatch(/^nightly-ship\s+updated/m);
    expect(writes(proxy.take())).toEqual(['scheduler PUT /schedules/nightly-ship']);
  });

  it('a schedule taken out of schedules.ts is kept, then with --prune shown in the plan and deleted', async () => {
    await writeFile(join(worker, SCHEDULES), schedulesFile([NIGHTLY.replace('cron(0 3', 'cron(0 4')]));
    const kept = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes');
    expect(kept.stdout).toMatch(/^hourly\s+kept\s+not in schedules\.ts: --prune deletes it$/m);
    proxy.take();
    const pruned = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes', '--prune');
    expect(pruned.exitCode, pruned.all).toBe(0);
    const plan = pruned.stdout.indexOf('the plan, nothing changed yet');
    expect(plan).toBeGreaterThanOrEqual(0);
    expect(pruned.stdout.slice(plan)).toMatch(/^hourly\s+delete\s+not in schedules\.ts$[\s\S]*^hourly\s+deleted/m);
    expect(writes(proxy.take())).toEqual(['scheduler DELETE /schedules/hourly']);
  });

  it('--scheduler-role-arn: no IAM call, the schedules send as that role', async () => {
    const given = 'arn:aws:iam::123456789012:role/platform/scheduler';
    proxy.take();
    const result = await beWorker(
      'provision',
      ...['--env', 'qa', '--endpoint', proxy.endpoint, '--yes', '--scheduler-role-arn', given],
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain(`Role EventBridge sends as: ${given}: given`);
    const calls = proxy.take();
    expect(calls.filter(({ service }) => service === 'iam')).toEqual([]);
    expect(
      calls.find(({ path, method }) => method === 'POST' && path === '/schedules/nightly-ship')?.body.Target,
    ).toMatchObject({
      RoleArn: given,
    });
  });

  it('a shared env without a terminal and without --yes: refused, nothing written', async () => {
    proxy.take();
    const result = await beWorker('provision', '--env', 'prod', '--endpoint', proxy.endpoint);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('pass --yes');
    expect(result.stderr).toMatch(/schedule\(s\), schedule group or role/);
    expect(writes(proxy.take())).toEqual([]);
  });

  it('a schedule the worker refuses is its sentence, and nothing is asked of AWS', async () => {
    const before = await readFile(join(worker, SCHEDULES), 'utf8');
    await writeFile(
      join(worker, SCHEDULES),
      schedulesFile([NIGHTLY.replace('cron(0 3 * * ? *)', 'cron(0 3 * * * *)')]),
    );
    proxy.take();
    const result = await beWorker('provision', '--env', 'dev', '--endpoint', proxy.endpoint, '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('nightly-ship');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(proxy.take()).toEqual([]);
    await writeFile(join(worker, SCHEDULES), before);
  });
});

describe('be-worker iam-policy, with schedules', () => {
  it('adds the policy provisioning them needs; --scheduler-role-arn passes that role instead of making one', async () => {
    const result = await beWorker('iam-policy', '--env', 'prod', '--account', '123456789012', '--json');
    expect(result.exitCode, result.all).toBe(0);
    const policies = JSON.parse(result.stdout) as IamPolicies;
    expect(Object.keys(policies)).toEqual(['worker', 'keda', 'schedules']);
    const resources = policies.schedules?.Statement.flatMap(({ Resource }) => Resource);
    expect(resources).toContain('arn:aws:scheduler:us-west-1:123456789012:schedule-group/shop-prod');
    expect(resources).toContain('arn:aws:iam::123456789012:role/shop-prod-scheduler');

    const given = 'arn:aws:iam::123456789012:role/platform/scheduler';
    const withRole = await beWorker(
      'iam-policy',
      ...['--env', 'prod', '--account', '123456789012', '--json', '--scheduler-role-arn', given],
    );
    const actions = (JSON.parse(withRole.stdout) as IamPolicies).schedules?.Statement.flatMap(({ Action }) => Action);
    expect(actions).toContain('iam:PassRole');
    expect(actions).not.toContain('iam:CreateRole');
  });
});

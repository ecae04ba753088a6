// Provisioning EventBridge Scheduler schedules (and the role they send as) against moto's server,
// through a proxy that records what the AWS SDK sent: moto checks few fields, so the requests are
// checked against the real API's shapes too (required fields, ARNs, the Input exactly, the role's
// documents).

import { IAMClient, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetScheduleCommand, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPolicies } from '../../src/cli/iam-policy-output.ts';
import { formatReport } from '../../src/cli/provision-output.ts';
import { UserError } from '../../src/errors.ts';
import { iamPolicies, type PolicyStatement } from '../../src/iam-policy.ts';
import { type ProvisionOptions, provision } from '../../src/provision.ts';
import type { LoadedSchedule } from '../../src/schedules/load.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';
import { type RecordedCall, type RecordingProxy, startRecordingProxy } from '../support/recording-proxy.ts';

const ACCOUNT = '123456789012'; // moto's
const REGION = 'eu-central-1';
let moto: MotoServer;
let motoEndpoint: string;
let proxy: RecordingProxy;

beforeAll(async () => {
  moto = await startMoto();
  motoEndpoint = moto.endpoint;
  proxy = await startRecordingProxy(motoEndpoint);
}, 40_000);
afterAll(async () => {
  await proxy?.close();
  moto?.stop();
});

const sqsArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

/** A Celery message as kombu puts it on the queue, with EventBridge's placeholders; quotes, unicode and all. */
function celeryInput(task: string, args: unknown[], schedule: string): string {
  const body = Buffer.from(JSON.stringify([args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]));
  return JSON.stringify({
    body: body.toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task,
      id: '<aws.scheduler.execution-id>',
      root_id: '<aws.scheduler.execution-id>',
      schedule,
      scheduled_time: '<aws.scheduler.scheduled-time>',
      argsrepr: JSON.stringify(args),
    },
    properties: { correlation_id: '<aws.scheduler.execution-id>', delivery_tag: 'é"\\' },
  });
}

function schedule(overrides: Partial<LoadedSchedule> & Pick<LoadedSchedule, 'name'>): LoadedSchedule {
  const base = {
    task: 'ship',
    queue: 'orders',
    args: [1, 'a'],
    kwargs: {},
    expression: 'cron(0 3 * * ? *)',
    timezone: 'UTC',
    ...overrides,
  };
  return { ...base, input: overrides.input ?? celeryInput(base.task, base.args, base.name) };
}

const QUEUES = [
  { queue: 'orders', task: 'ship' },
  { queue: 'ledger.fifo', task: 'post' },
  { queue: 'unscheduled', task: 'idle' },
];

function options(env: string, schedules: readonly LoadedSchedule[], more: Partial<ProvisionOptions> = {}) {
  return {
    worker: 'shop',
    queues: QUEUES,
    env,
    user: 'ann',
    region: REGION,
    endpoint: proxy.endpoint,
    schedules,
    ...more,
  } satisfies ProvisionOptions;
}

const scheduler = () =>
  new SchedulerClient({
    region: REGION,
    endpoint: motoEndpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });

/** Calls that change something, by service and operation. */
function writesOf(calls: RecordedCall[]): string[] {
  return calls
    .filter(({ service, method, operation }) => {
      if (service === 'scheduler') return method !== 'GET';
      if (service === 'iam') return !/^(Get|List)/.test(operation);
      if (service === 'sqs') return !/^(Get|List)/.test(operation);
      return false;
    })
    .map(({ service, operation }) => `${service} ${operation}`);
}

const createCalls = (calls: RecordedCall[]) =>
  calls.filter(
    ({ service, method, path }) => service === 'scheduler' && method === 'POST' && path.startsWith('/schedules/'),
  );
const iamCall = (calls: RecordedCall[], action: string) =>
  calls.find(({ service, operation }) => service === 'iam' && operation === action);

describe('schedules in be-worker provision', () => {
  const nightly = schedule({
    name: 'nightly-report',
    description: 'The report, every night',
    timezone: 'Europe/Paris',
    flexibleWindowMinutes: 15,
    // EventBridge keeps whole seconds: sent so, or every run would see the milliseconds drift.
    end: '2031-06-30T22:00:00.750Z',
  });
  const ledger = schedule({
    name: 'ledger.close_1',
    task: 'post',
    queue: 'ledger.fifo',
    args: [],
    kwargs: { day: 'today' },
    expression: 'rate(7 minutes)',
    flexibleWindowMinutes: 1,
    start: '2030-01-01T00:00:00.000Z',
  });

  it('--dry-run plans the group, the role and each schedule, and sends nothing that writes', async () => {
    proxy.take();
    const report = await provision({ ...options('dry', [nightly, ledger]), dryRun: true });
    expect(report.schedules).toMatchObject({
      group: 'shop-dry',
      groupAction: 'create',
      role: { action: 'create', arn: `arn:aws:iam::${ACCOUNT}:role/shop-dry-scheduler` },
      entries: [
        { name: 'nightly-report', action: 'create' },
        { name: 'ledger.close_1', action: 'create' },
      ],
    });
    expect(writesOf(proxy.take())).toEqual([]);
    const text = formatReport(report);
    expect(text).toContain('dry run, nothing changed');
    expect(text).toMatch(/^Schedule group shop-dry: create$/m);
    expect(text).toMatch(
      new RegExp(`^Role EventBridge sends as: arn:aws:iam::${ACCOUNT}:role/shop-dry-scheduler: create$`, 'm'),
    );
    expect(text).toMatch(/^SCHEDULE\s+RESULT\s+DETAILS$/m);
    expect(text).toMatch(/^nightly-report\s+create\s+cron\(0 3 \* \* \? \*\) Europe\/Paris → orders$/m);
    expect(text).toMatch(/^ledger\.close_1\s+create\s+rate\(7 minutes\) UTC → ledger\.fifo$/m);
  });

  it('creates the group, the role and its policy, then each schedule, in the shapes of the real API', async () => {
    proxy.take();
    const report = await provision(options('dev', [nightly, ledger]));
    expect(report.schedules?.entries.map((entry) => ('outcome' in entry ? entry.outcome : entry.action))).toEqual([
      'created',
      'created',
    ]);
    const calls = proxy.take();
    // The queues first (a schedule's target and DLQ must exist), then the group, the role, the schedules.
    const writes = writesOf(calls);
    expect(writes.filter((write) => !write.startsWith('sqs'))).toEqual([
      'scheduler POST /schedule-groups/shop-dev',
      'iam CreateRole',
      'iam PutRolePolicy',
      'scheduler POST /schedules/nightly-report',
      'scheduler POST /schedules/ledger.close_1',
    ]);
    expect(writes.findIndex((write) => !write.startsWith('sqs'))).toBe(
      writes.filter((write) => write.startsWith('sqs')).length,
    );

    const group = calls.find(({ method, path }) => method === 'POST' && path === '/schedule-groups/shop-dev');
    expect(group?.body.Tags).toEqual([
      { Key: 'worker', Value: 'shop' },
      { Key: 'env', Value: 'dev' },
      { Key: 'owner', Value: 'ann' },
    ]);

    const role = iamCall(calls, 'CreateRole');
    expect(role?.body.RoleName).toBe('shop-dev-scheduler');
    expect(JSON.parse(String(role?.body.AssumeRolePolicyDocument))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ],
    });
    const policy = iamCall(calls, 'PutRolePolicy');
    expect(policy?.body.RoleName).toBe('shop-dev-scheduler');
    // Exactly the scheduled queues and their DLQs: not the queue no schedule sends to.
    expect(JSON.parse(String(policy?.body.PolicyDocument))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'SendScheduledTasks',
          Effect: 'Allow',
          Action: ['sqs:SendMessage'],
          Resource: [
            sqsArn('dev-orders'),
            sqsArn('err-dev-orders'),
            sqsArn('dev-ledger.fifo'),
            sqsArn('err-dev-ledger.fifo'),
          ],
        },
      ],
    });

    const [first, second] = createCalls(calls).map(({ body }) => body);
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/shop-dev-scheduler`;
    expect(first).toEqual({
      ClientToken: expect.any(String),
      GroupName: 'shop-dev',
      Description: 'The report, every night',
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      EndDate: Date.parse('2031-06-30T22:00:00Z') / 1000,
      State: 'ENABLED',
      Target: {
        Arn: sqsArn('dev-orders'),
        RoleArn: roleArn,
        Input: nightly.input,
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: sqsArn('err-dev-orders') },
      },
    });
    expect(second).toEqual({
      ClientToken: expect.any(String),
      GroupName: 'shop-dev',
      ScheduleExpression: 'rate(7 minutes)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1 },
      StartDate: Date.parse('2030-01-01T00:00:00.000Z') / 1000,
      State: 'ENABLED',
      Target: {
        Arn: sqsArn('dev-ledger.fifo'),
        RoleArn: roleArn,
        Input: ledger.input,
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: sqsArn('err-dev-ledger.fifo') },
        // A FIFO queue needs a message group: each schedule's firings in order, one at a time.
        SqsParameters: { MessageGroupId: 'ledger.close_1' },
      },
    });

    // And the service has them so.
    const stored = await scheduler().send(new GetScheduleCommand({ Name: 'nightly-report', GroupName: 'shop-dev' }));
    expect(stored.Target?.Input).toBe(nightly.input);
    expect(stored.Target?.RoleArn).toBe(roleArn);
  });

  it('a FIFO queue with a schedule gets content-based deduplication (EventBridge sends no deduplication id)', async () => {
    proxy.take();
    await provision(options('fifo', [ledger]));
    const created = proxy
      .take()
      .filter(({ service, operation }) => service === 'sqs' && operation === 'CreateQueue')
      .map(({ body }) => body as { QueueName: string; Attributes: Record<string, string> });
    const attributes = (name: string) => created.find(({ QueueName }) => QueueName === name)?.Attributes;
    expect(attributes('fifo-ledger.fifo')).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    // A queue no schedule sends to is left as it was.
    expect(attributes('fifo-orders')).not.toHaveProperty('ContentBasedDeduplication');
  });

  it('a rerun changes nothing', async () => {
    await provision(options('again', [nightly, ledger]));
    proxy.take();
    const report = await provision(options('again', [nightly, ledger]));
    expect(report.schedules).toMatchObject({
      groupAction: 'none',
      role: { action: 'none' },
      entries: [
        { name: 'nightly-report', action: 'none', outcome: 'unchanged' },
        { name: 'ledger.close_1', action: 'none', outcome: 'unchanged' },
      ],
    });
    expect(writesOf(proxy.take())).toEqual([]);
    expect(formatReport(report)).toMatch(/^Schedule group shop-again: in place$/m);
  });

  it('reports an edit in schedules.ts field by field, changes it only with --fix, with the whole definition', async () => {
    await provision(options('edit', [nightly, ledger]));
    const edited = schedule({ ...nightly, expression: 'cron(30 4 ? * MON-FRI *)', args: [2, 'b'], input: undefined });
    proxy.take();
    const reported = await provision(options('edit', [edited, ledger]));
    expect(reported.schedules?.entries[0]).toMatchObject({
      name: 'nightly-report',
      action: 'update',
      outcome: 'drift',
      drift: [
        { field: 'ScheduleExpression', want: 'cron(30 4 ? * MON-FRI *)', have: 'cron(0 3 * * ? *)' },
        { field: 'Target.Input', want: edited.input, have: nightly.input },
      ],
    });
    expect(writesOf(proxy.take())).toEqual([]);
    const text = formatReport(reported);
    // The message is long: said to differ, not printed (--json has it whole).
    expect(text).toMatch(
      /^nightly-report\s+drift\s+ScheduleExpression: cron\(0 3 \* \* \? \*\) → cron\(30 4 \? \* MON-FRI \*\); Target\.Input: differs$/m,
    );
    expect(text).toContain('Drift is reported, not changed: run again with --fix');

    const fixed = await provision({ ...options('edit', [edited, ledger]), fix: true });
    expect(fixed.schedules?.entries.map((entry) => ('outcome' in entry ? entry.outcome : ''))).toEqual([
      'updated',
      'unchanged',
    ]);
    const calls = proxy.take();
    // moto keeps no RedriveAllowPolicy, so --fix sets it on the err- queues every time: left out here.
    expect(writesOf(calls).filter((write) => !write.startsWith('sqs'))).toEqual([
      'scheduler PUT /schedules/nightly-report',
    ]);
    const update = calls.find(({ method }) => method === 'PUT')?.body;
    // UpdateSchedule replaces the schedule: every field is sent, not only the changed ones.
    expect(update).toMatchObject({
      GroupName: 'shop-edit',
      ScheduleExpression: 'cron(30 4 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Description: 'The report, every night',
      Target: {
        Arn: sqsArn('edit-orders'),
        Input: edited.input,
        DeadLetterConfig: { Arn: sqsArn('err-edit-orders') },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 },
      },
    });
    const again = await provision(options('edit', [edited, ledger]));
    expect(again.schedules?.entries.every((entry) => entry.action === 'none')).toBe(true);
  });

  it('finds drift made outside (the console), in the time zone, the window and the retry policy', async () => {
    await provision(options('console', [nightly]));
    const current = await scheduler().send(
      new GetScheduleCommand({ Name: 'nightly-report', GroupName: 'shop-console' }),
    );
    await scheduler().send(
      new UpdateScheduleCommand({
        Name: 'nightly-report',
        GroupName: 'shop-console',
        ScheduleExpression: current.ScheduleExpression,
        ScheduleExpressionTimezone: 'America/New_York',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Description: current.Description,
        EndDate: current.EndDate,
        Target: {
          ...current.Target,
          Arn: current.Target?.Arn,
          RoleArn: current.Target?.RoleArn,
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        },
      }),
    );
    const report = await provision({ ...options('console', [nightly]), dryRun: true });
    expect(report.schedules?.entries[0]?.drift).toEqual([
      { field: 'ScheduleExpressionTimezone', want: 'Europe/Paris', have: 'America/New_York' },
      { field: 'FlexibleTimeWindow', want: 'FLEXIBLE 15 min', have: 'OFF' },
      { field: 'Target.RetryPolicy', want: '185 attempts within 3600 s', have: '0 attempts within 60 s' },
    ]);
  });

  it('a start date already passed is not sent (EventBridge refuses one), and is no drift on the next run', async () => {
    const started = schedule({ name: 'since-2020', start: '2020-01-01T00:00:00Z', expression: 'rate(1 day)' });
    proxy.take();
    await provision(options('started', [started]));
    expect(createCalls(proxy.take())[0]?.body).not.toHaveProperty('StartDate');
    const again = await provision({ ...options('started', [started]), dryRun: true });
    expect(again.schedules?.entries).toMatchObject([{ name: 'since-2020', action: 'none' }]);
  });

  it('keeps a schedule gone from schedules.ts, saying so; --prune deletes it', async () => {
    await provision(options('prune', [nightly, ledger]));
    proxy.take();
    const kept = await provision(options('prune', [ledger]));
    expect(kept.schedules?.entries).toContainEqual(
      expect.objectContaining({ name: 'nightly-report', action: 'none', stray: true, outcome: 'kept' }),
    );
    expect(writesOf(proxy.take())).toEqual([]);
    expect(formatReport(kept)).toMatch(/^nightly-report\s+kept\s+not in schedules\.ts: --prune deletes it$/m);

    const keptPlan = await provision({ ...options('prune', [ledger]), dryRun: true });
    expect(formatReport(keptPlan)).toMatch(/^nightly-report\s+kept\s+not in schedules\.ts: --prune deletes it$/m);
    expect(formatReport(keptPlan)).toMatch(/^ledger\.close_1\s+in place\s+rate\(7 minutes\) UTC → ledger\.fifo$/m);
    const planned = await provision({ ...options('prune', [ledger]), prune: true, dryRun: true });
    expect(planned.schedules?.entries).toContainEqual({ name: 'nightly-report', action: 'delete' });
    expect(writesOf(proxy.take())).toEqual([]);

    const pruned = await provision({ ...options('prune', [ledger]), prune: true });
    expect(pruned.schedules?.entries).toContainEqual({ name: 'nightly-report', action: 'delete', outcome: 'deleted' });
    expect(formatReport(planned, { planned: true })).toMatch(/^nightly-report\s+delete\s+not in schedules\.ts$/m);
    expect(formatReport(pruned)).toMatch(/^nightly-report\s+deleted\s+not in schedules\.ts$/m);
    expect(writesOf(proxy.take())).toEqual(['scheduler DELETE /schedules/nightly-report']);
    await expect(
      scheduler().send(new GetScheduleCommand({ Name: 'nightly-report', GroupName: 'shop-prune' })),
    ).rejects.toThrow(/does not exist/);
  });

  it('puts the role in step before a schedule on another queue is created: its policy names that queue too', async () => {
    await provision(options('widen', [nightly]));
    proxy.take();
    const report = await provision(options('widen', [nightly, ledger]));
    expect(report.schedules?.role).toMatchObject({ action: 'update', outcome: 'updated' });
    const calls = proxy.take();
    expect(writesOf(calls)).toEqual(['iam PutRolePolicy', 'scheduler POST /schedules/ledger.close_1']);
    const resources = JSON.parse(String(iamCall(calls, 'PutRolePolicy')?.body.PolicyDocument)).Statement[0].Resource;
    expect(resources).toEqual([
      sqsArn('widen-orders'),
      sqsArn('err-widen-orders'),
      sqsArn('widen-ledger.fifo'),
      sqsArn('err-widen-ledger.fifo'),
    ]);
  });

  it('with --scheduler-role-arn touches no IAM at all and sends as that role', async () => {
    const given = 'arn:aws:iam::123456789012:role/platform/scheduler-sends';
    proxy.take();
    const report = await provision(options('platform', [nightly], { schedulerRoleArn: given }));
    expect(report.schedules?.role).toMatchObject({ action: 'given', arn: given });
    const calls = proxy.take();
    expect(calls.filter(({ service }) => service === 'iam')).toEqual([]);
    expect(createCalls(calls)[0]?.body.Target).toMatchObject({ RoleArn: given });
  });

  it('an Input longer than EventBridge takes (8192 characters) is one sentence naming the schedule; nothing is sent', async () => {
    const huge = schedule({ name: 'huge', args: ['x'.repeat(9000)] });
    proxy.take();
    const failure = provision(options('huge', [nightly, huge]));
    await expect(failure).rejects.toThrow(UserError);
    await expect(failure).rejects.toThrow(/^Schedule "huge": its message is \d+ characters/);
    expect(writesOf(proxy.take())).toEqual([]);
  });

  it('names a long worker-and-env group within the 64 characters EventBridge allows, the same each run', async () => {
    const worker = `a${'-long-worker-name'.repeat(3)}`; // 52 characters
    const run = () => provision({ ...options('staging-eu-west', [nightly]), worker, dryRun: true });
    const [first, second] = [await run(), await run()];
    // Cut to 64, the end a hash of the whole name: two long names that start alike stay apart.
    expect(first.schedules?.group).toHaveLength(64);
    expect(first.schedules?.group).toMatch(new RegExp(`^${worker}-st-[0-9a-f]{8}$`));
    expect(second.schedules?.group).toBe(first.schedules?.group);
    expect(first.schedules?.role.arn.split('/').at(-1)?.length).toBeLessThanOrEqual(64);
  });

  it('env local: npm run dev fires the schedules, so nothing is asked of EventBridge', async () => {
    proxy.take();
    const report = await provision({ ...options('local', [nightly]), dryRun: true });
    expect(report.schedules).toBeUndefined();
    expect(report.schedulesSkipped).toContain('npm run dev');
    expect(formatReport(report)).toContain('Env local has no EventBridge: npm run dev fires the schedules itself.');
    expect(proxy.take().filter(({ service }) => service === 'scheduler' || service === 'iam')).toEqual([]);
  });

  it('a worker without schedules asks nothing of EventBridge (an SQS emulator without it still works)', async () => {
    proxy.take();
    const report = await provision(options('none', []));
    expect(report.schedules).toBeUndefined();
    expect(proxy.take().filter(({ service }) => service === 'scheduler' || service === 'iam')).toEqual([]);
  });

  it('--prune with no schedules and no group yet makes neither a group nor a role', async () => {
    proxy.take();
    const report = await provision({ ...options('empty', []), prune: true });
    expect(report.schedules).toMatchObject({ groupAction: 'none', role: { action: 'none' }, entries: [] });
    expect(writesOf(proxy.take()).filter((write) => !write.startsWith('sqs'))).toEqual([]);
  });
});

describe('a role just created, not yet usable by EventBridge (IAM is eventually consistent)', () => {
  it('retries the schedule until EventBridge accepts the role', async () => {
    proxy.inject({
      matches: ({ service, method, path }) =>
        service === 'scheduler' && method === 'POST' && path === '/schedules/slow-role',
      status: 400,
      headers: { 'x-amzn-errortype': 'ValidationException' },
      body: JSON.stringify({
        message: 'The execution role you provide must allow AWS EventBridge Scheduler to assume the role.',
      }),
      times: 1,
    });
    proxy.take();
    const report = await provision(options('fresh', [schedule({ name: 'slow-role' })]));
    expect(report.schedules?.entries[0]).toMatchObject({ outcome: 'created' });
    expect(createCalls(proxy.take())).toHaveLength(2);
  }, 60_000);
});

/** The IAM actions (and the resource each is on) that authorise a recorded scheduler or IAM call. */
function authorisations({ service, operation, method, path, query, body }: RecordedCall): [string, string][] {
  const scheduler = (resource: string) => `arn:aws:scheduler:${REGION}:${ACCOUNT}:${resource}`;
  if (service === 'iam') {
    const role = `arn:aws:iam::${ACCOUNT}:role/${body.RoleName}`;
    // Tags given at creation need iam:TagRole too.
    return [
      [`iam:${operation}`, role],
      ...(operation === 'CreateRole' && body['Tags.member.1.Key'] ? [['iam:TagRole', role] as [string, string]] : []),
    ];
  }
  if (service !== 'scheduler') return [];
  const [, kind, name] = path.split('/');
  if (kind === 'schedule-groups') {
    const group = scheduler(`schedule-group/${name}`);
    if (method === 'GET') return [['scheduler:GetScheduleGroup', group]];
    return [
      ['scheduler:CreateScheduleGroup', group],
      ...(body.Tags ? [['scheduler:TagResource', group] as [string, string]] : []),
    ];
  }
  if (!name) return [['scheduler:ListSchedules', '*']];
  const group = String(body.GroupName ?? query.get('groupName'));
  const schedule = scheduler(`schedule/${group}/${name}`);
  const operationOf: Record<string, string> = {
    GET: 'GetSchedule',
    POST: 'CreateSchedule',
    PUT: 'UpdateSchedule',
    DELETE: 'DeleteSchedule',
  };
  const passRole = body.Target
    ? [['iam:PassRole', (body.Target as { RoleArn: string }).RoleArn] as [string, string]]
    : [];
  return [[`scheduler:${operationOf[method]}`, schedule], ...passRole];
}

/** IAM's matching of a Resource pattern: * is any run of characters. */
const matches = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(arn);

describe('be-worker iam-policy: what provisioning schedules needs', () => {
  it('allows every call provision made (create, fix, prune, the role and its drift), on its resource, and no action it did not make', async () => {
    const target = { env: 'ops', region: REGION, account: ACCOUNT, queues: QUEUES };
    const nightly = schedule({ name: 'nightly' });
    const ledger = schedule({ name: 'ledger', queue: 'ledger.fifo', task: 'post' });
    proxy.take();
    await provision(options('ops', [nightly, ledger]));
    await provision({
      ...options('ops', [schedule({ ...nightly, expression: 'rate(1 hour)', input: undefined })]),
      fix: true,
    });
    // Someone loosened the role's trust: provision --fix puts it back.
    await new IAMClient({
      region: REGION,
      endpoint: motoEndpoint,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    }).send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: 'shop-ops-scheduler',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await provision({ ...options('ops', [nightly]), fix: true });
    await provision({ ...options('ops', []), prune: true });
    const calls = proxy.take();
    expect(iamCall(calls, 'UpdateAssumeRolePolicy')).toBeDefined();
    const needed = calls.flatMap(authorisations);
    expect(new Set(needed.map(([action]) => action.split(':')[0]))).toEqual(new Set(['scheduler', 'iam']));

    const policy = iamPolicies({ ...target, scheduling: { worker: 'shop' } }).schedules;
    expect(policy?.Version).toBe('2012-10-17');
    const statements = policy?.Statement ?? [];
    const allows = ([action, arn]: [string, string]) =>
      statements.some(
        (statement: PolicyStatement) =>
          statement.Action.includes(action) && statement.Resource.some((pattern) => matches(pattern, arn)),
      );
    expect(needed.filter((need) => !allows(need))).toEqual([]);
    expect(new Set(statements.flatMap(({ Action }) => Action))).toEqual(new Set(needed.map(([action]) => action)));
    // * only where IAM has no narrower resource: listing a group's schedules; the schedules themselves: this group's.
    for (const statement of statements) {
      for (const resource of statement.Resource.filter((arn) => arn.includes('*'))) {
        expect([`arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/shop-ops/*`, '*']).toContain(resource);
        if (resource === '*') expect(statement.Action).toEqual(['scheduler:ListSchedules']);
      }
    }
    // The role is passed to EventBridge Scheduler only.
    expect(statements.find(({ Action }) => Action.includes('iam:PassRole'))?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
    });
  });

  it('with --scheduler-role-arn: passing that role only, no IAM role management; no schedules: no such policy', () => {
    const target = { env: 'ops', region: 'cn-north-1', account: ACCOUNT, queues: QUEUES };
    const given = 'arn:aws-cn:iam::123456789012:role/platform/sends';
    const policy = iamPolicies({ ...target, scheduling: { worker: 'shop', roleArn: given } }).schedules;
    const iam = policy?.Statement.filter(({ Action }) => Action.some((action) => action.startsWith('iam:')));
    expect(iam).toEqual([
      {
        Sid: 'PassTheSchedulerRole',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [given],
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
    expect(policy?.Statement.flatMap(({ Resource }) => Resource)).toContain(
      'arn:aws-cn:scheduler:cn-north-1:123456789012:schedule-group/shop-ops',
    );
    expect(iamPolicies(target).schedules).toBeUndefined();
  });

  it('is said for people as a third policy, for who runs provision, whole and valid JSON', () => {
    const policies = iamPolicies({
      env: 'ops',
      region: REGION,
      account: ACCOUNT,
      queues: QUEUES,
      scheduling: { worker: 'shop' },
    });
    const text = formatPolicies(policies, { worker: 'shop', env: 'ops', account: ACCOUNT, region: REGION });
    expect(text).toMatch(/^3\. Who runs be-worker provision/m);
    expect(text).toContain('scheduler:ListSchedules');
    const documents = [...text.matchAll(/^\{\n[\s\S]*?\n\}$/gm)].map(([json]) => JSON.parse(json));
    expect(documents).toEqual([policies.worker, policies.keda, policies.schedules]);
    // Without schedules, as before: two.
    const without = formatPolicies(iamPolicies({ env: 'ops', region: REGION, account: ACCOUNT, queues: QUEUES }), {
      worker: 'shop',
      env: 'ops',
      account: ACCOUNT,
      region: REGION,
    });
    expect(without).not.toContain('3. ');
  });
});

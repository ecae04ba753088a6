// A worker's schedules made to exist in EventBridge Scheduler, as its queues are in SQS: a plan
// first (reads only: what `--dry-run` prints and what `ls --env` compares), then applying it. One
// schedule group per worker and env holds them; each schedule sends its task's Celery message to the
// task's queue, as a role that may send to exactly those queues (created here, or given).
import { createHash } from 'node:crypto';
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  GetScheduleGroupCommand,
  ListSchedulesCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { isFifo } from '../../templates/worker/src/runtime/naming.ts';
import { sleep } from '../../templates/worker/src/runtime/timing.ts';
import { UserError } from '../errors.ts';
import type { LoadedSchedule } from './load.ts';

export interface ScheduleDrift {
  field: string;
  want: unknown;
  have: unknown;
}

export interface SchedulePlanEntry {
  name: string;
  action: 'create' | 'update' | 'delete' | 'none';
  /** A schedule of schedules.ts: when it fires, and the queue it sends to (short name). */
  when?: string;
  queue?: string;
  drift?: ScheduleDrift[];
  /** In the group but not in schedules.ts, and kept: --prune deletes it. */
  stray?: true;
}

export interface ScheduleApplyEntry extends SchedulePlanEntry {
  outcome: 'created' | 'updated' | 'deleted' | 'unchanged' | 'drift' | 'kept' | 'failed';
  error?: string;
}

export interface RolePlan {
  arn: string;
  /** given: --scheduler-role-arn, left as it is; update: its trust or its policy differ. */
  action: 'create' | 'update' | 'none' | 'given';
  drift?: ScheduleDrift[];
  outcome?: 'created' | 'updated' | 'unchanged' | 'drift' | 'given' | 'failed';
  error?: string;
}

export interface SchedulePlan {
  group: string;
  groupAction: 'create' | 'none';
  /** Once applied: the group made. */
  groupOutcome?: 'created';
  role: RolePlan;
  entries: (SchedulePlanEntry | ScheduleApplyEntry)[];
}

export interface SchedulePlanOptions {
  worker: string;
  env: string;
  user?: string;
  schedules: readonly LoadedSchedule[];
  prune: boolean;
  /** --scheduler-role-arn: a role the platform team owns; none is created. */
  roleArn?: string;
  /** The ARN of a queue of queues.ts (its short name) in this env, and of its err- queue. */
  queueArn(queue: string): string;
  deadLetterArn(queue: string): string;
}

export interface SchedulerClients {
  scheduler: SchedulerClient;
  iam?: IAMClient;
}

/** EventBridge takes at most this many characters of Input. */
export const INPUT_MAX_CHARACTERS = 8192;
/** Group, schedule and role names: at most 64 characters. */
const NAME_MAX = 64;
/**
 * A firing EventBridge cannot deliver is retried for up to an hour (as often as it allows), then
 * sent to the queue's err- queue: later than that, the next firing is nearer than this one's time.
 */
export const SCHEDULE_RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 3600 };
const ROLE_POLICY_NAME = 'send-scheduled-tasks';
const TAG_KEYS = ['worker', 'env', 'owner'] as const;

/** `<worker>-<env>` (a developer's own: `<worker>-<user>-local`), kept within 64 characters. */
export function scheduleGroupName({ worker, env, user }: Pick<SchedulePlanOptions, 'worker' | 'env' | 'user'>): string {
  return boundedName(env === 'local' && user ? `${worker}-${user}-${env}` : `${worker}-${env}`);
}

export function schedulerRoleName(group: string): string {
  return boundedName(`${group}-scheduler`);
}

/** The role's trust: EventBridge Scheduler, and only for schedules of this account. */
export function schedulerTrustPolicy(account: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': account } },
      },
    ],
  };
}

/** The role's permissions: send to the scheduled queues and their err- queues, nothing else. */
export function schedulerSendPolicy(options: Pick<SchedulePlanOptions, 'schedules' | 'queueArn' | 'deadLetterArn'>) {
  const queues = [...new Set(options.schedules.map(({ queue }) => queue))];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'SendScheduledTasks',
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: queues.flatMap((queue) => [options.queueArn(queue), options.deadLetterArn(queue)]),
      },
    ],
  };
}

/** The CreateSchedule request of each schedule: what EventBridge must hold. */
export function desiredSchedules(options: SchedulePlanOptions, group: string, roleArn: string) {
  return options.schedules.map((schedule) => {
    const { name, queue, flexibleWindowMinutes: window } = schedule;
    if (schedule.input.length > INPUT_MAX_CHARACTERS) {
      throw new UserError(
        `Schedule "${name}": its message is ${schedule.input.length} characters and EventBridge takes at most ${INPUT_MAX_CHARACTERS}; pass smaller arguments (an id the task looks up, not the data). Nothing was changed.`,
      );
    }
    const start = futureDate(schedule.start);
    return {
      Name: name,
      GroupName: group,
      ...(schedule.description ? { Description: schedule.description } : {}),
      ScheduleExpression: schedule.expression,
      ScheduleExpressionTimezone: schedule.timezone,
      FlexibleTimeWindow: window ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: window } : { Mode: 'OFF' },
      // EventBridge refuses a start in the past; a start that has passed constrains nothing anyway.
      ...(start ? { StartDate: start } : {}),
      ...(schedule.end ? { EndDate: wholeSeconds(schedule.end) } : {}),
      State: 'ENABLED',
      Target: {
        Arn: options.queueArn(queue),
        RoleArn: roleArn,
        Input: schedule.input,
        RetryPolicy: SCHEDULE_RETRY_POLICY,
        DeadLetterConfig: { Arn: options.deadLetterArn(queue) },
        // EventBridge needs a message group for a FIFO queue: one per schedule keeps its firings in order.
        ...(isFifo(queue) ? { SqsParameters: { MessageGroupId: name } } : {}),
      },
    } satisfies CreateScheduleCommandInput;
  });
}

type DesiredSchedule = ReturnType<typeof desiredSchedules>[number];

/** What applying would do: the group, the role, each schedule. Reads only. */
export async function planSchedules(clients: SchedulerClients, options: SchedulePlanOptions): Promise<SchedulePlan> {
  const group = scheduleGroupName(options);
  const role = await planRole(clients, options, group);
  const desired = desiredSchedules(options, group, role.arn);
  const groupExists = await exists(() => clients.scheduler.send(new GetScheduleGroupCommand({ Name: group })));
  const provisioned = groupExists ? await scheduleNames(clients.scheduler, group) : [];
  const entries: SchedulePlanEntry[] = await Promise.all(
    desired.map(async (want, index) => {
      const { expression, timezone, queue } = options.schedules[index] as LoadedSchedule;
      const about = { name: want.Name, when: `${expression} ${timezone}`, queue };
      if (!provisioned.includes(want.Name)) return { ...about, action: 'create' } satisfies SchedulePlanEntry;
      const have = await clients.scheduler.send(new GetScheduleCommand({ Name: want.Name, GroupName: group }));
      const drift = scheduleDrift(want, have);
      return drift.length
        ? ({ ...about, action: 'update', drift } satisfies SchedulePlanEntry)
        : ({ ...about, action: 'none' } satisfies SchedulePlanEntry);
    }),
  );
  for (const name of provisioned.filter((name) => !desired.some((want) => want.Name === name))) {
    entries.push(options.prune ? { name, action: 'delete' } : { name, action: 'none', stray: true });
  }
  // A group is made for schedules to create, not for a --prune that finds none.
  return { group, groupAction: groupExists || desired.length === 0 ? 'none' : 'create', role, entries };
}

/**
 * Carries out a plan: the group, then the role (put in step before any schedule is written, since a
 * schedule whose role cannot send fails at every firing; alone, its drift waits for `fix`), then each
 * schedule: created, updated with `fix`, deleted when planned (--prune). A schedule's failure is
 * recorded on its entry and the others go on; running again finishes the job.
 */
export async function applySchedulePlan(
  clients: SchedulerClients,
  options: SchedulePlanOptions,
  plan: SchedulePlan,
  { fix = false, tags = {} }: { fix?: boolean; tags?: Record<string, string> } = {},
): Promise<SchedulePlan> {
  const { group } = plan;
  if (plan.groupAction === 'create') {
    const Tags = TAG_KEYS.filter((key) => tags[key]).map((key) => ({ Key: key, Value: tags[key] ?? '' }));
    await clients.scheduler.send(new CreateScheduleGroupCommand({ Name: group, Tags }));
  }
  const writesSchedule = plan.entries.some(({ action }) => action === 'create' || (action === 'update' && fix));
  const role = await applyRole(clients, options, plan.role, { fix: fix || writesSchedule, tags });
  const desired = new Map(desiredSchedules(options, group, role.arn).map((want) => [want.Name, want]));
  const entries: ScheduleApplyEntry[] = [];
  for (const entry of plan.entries) {
    const want = desired.get(entry.name);
    try {
      if (entry.action === 'create' && want) {
        await retriedWhileRoleIsNew(
          () => clients.scheduler.send(new CreateScheduleCommand(want)),
          role.action === 'create',
        );
        entries.push({ ...entry, outcome: 'created' });
      } else if (entry.action === 'update' && want && fix) {
        await clients.scheduler.send(new UpdateScheduleCommand(want));
        entries.push({ ...entry, outcome: 'updated' });
      } else if (entry.action === 'delete') {
        await clients.scheduler.send(new DeleteScheduleCommand({ Name: entry.name, GroupName: group }));
        entries.push({ ...entry, outcome: 'deleted' });
      } else {
        entries.push({ ...entry, outcome: entry.action === 'update' ? 'drift' : entry.stray ? 'kept' : 'unchanged' });
      }
    } catch (error) {
      entries.push({ ...entry, outcome: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  return { ...plan, ...(plan.groupAction === 'create' ? { groupOutcome: 'created' } : {}), role, entries };
}

async function planRole(clients: SchedulerClients, options: SchedulePlanOptions, group: string): Promise<RolePlan> {
  if (options.roleArn) return { arn: options.roleArn, action: 'given' };
  // Nothing to send (--prune of every schedule): no role is needed, none is made.
  if (options.schedules.length === 0) return { arn: '', action: 'none' };
  if (!clients.iam) throw new Error('an IAM client is needed to plan the scheduler role');
  const iam = clients.iam;
  const name = schedulerRoleName(group);
  // The queues are in the account (and partition) the role is made in: their ARNs say which.
  const [, partition, , , account] = options.queueArn(options.schedules[0]?.queue ?? '').split(':');
  const arn = `arn:${partition}:iam::${account}:role/${name}`;
  const role = await orMissing(() => iam.send(new GetRoleCommand({ RoleName: name })));
  if (!role) return { arn, action: 'create' };
  const policy = await orMissing(() =>
    iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: ROLE_POLICY_NAME })),
  );
  const drift = [
    documentDrift('AssumeRolePolicyDocument', schedulerTrustPolicy(account ?? ''), role.Role?.AssumeRolePolicyDocument),
    documentDrift(`Policy ${ROLE_POLICY_NAME}`, schedulerSendPolicy(options), policy?.PolicyDocument),
  ].filter((item) => item !== undefined);
  return { arn: role.Role?.Arn ?? arn, action: drift.length ? 'update' : 'none', ...(drift.length ? { drift } : {}) };
}

async function applyRole(
  clients: SchedulerClients,
  options: SchedulePlanOptions,
  role: RolePlan,
  { fix, tags }: { fix: boolean; tags: Record<string, string> },
): Promise<RolePlan> {
  if (role.action === 'given') return { ...role, outcome: 'given' };
  if (role.action === 'none') return { ...role, outcome: 'unchanged' };
  if (role.action === 'update' && !fix) return { ...role, outcome: 'drift' };
  const iam = clients.iam;
  if (!iam) throw new Error('an IAM client is needed to provision the scheduler role');
  const RoleName = role.arn.split('/').at(-1) ?? '';
  const account = role.arn.split(':')[4] ?? '';
  const trust = JSON.stringify(schedulerTrustPolicy(account));
  if (role.action === 'create') {
    const Tags = TAG_KEYS.filter((key) => tags[key]).map((key) => ({ Key: key, Value: tags[key] ?? '' }));
    await iam.send(
      new CreateRoleCommand({
        RoleName,
        AssumeRolePolicyDocument: trust,
        Description:
          'EventBridge Scheduler sends the scheduled tasks of a be-worker to its queues (be-worker provision)',
        Tags,
      }),
    );
  } else if (role.drift?.some(({ field }) => field === 'AssumeRolePolicyDocument')) {
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: trust }));
  }
  if (role.action === 'create' || role.drift?.some(({ field }) => field !== 'AssumeRolePolicyDocument')) {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName,
        PolicyName: ROLE_POLICY_NAME,
        PolicyDocument: JSON.stringify(schedulerSendPolicy(options)),
      }),
    );
  }
  return { ...role, outcome: role.action === 'create' ? 'created' : 'updated' };
}

/** The fields EventBridge holds, each as one comparable value, in the order a person reads them. */
function fieldsOf(schedule: DesiredSchedule | GetScheduleCommandOutput): Record<string, string | undefined> {
  const { Target: target, FlexibleTimeWindow: window } = schedule;
  const retry = target?.RetryPolicy;
  return {
    ScheduleExpression: schedule.ScheduleExpression,
    ScheduleExpressionTimezone: schedule.ScheduleExpressionTimezone ?? 'UTC',
    FlexibleTimeWindow: window?.Mode === 'FLEXIBLE' ? `FLEXIBLE ${window.MaximumWindowInMinutes} min` : 'OFF',
    StartDate: futureDate(schedule.StartDate)?.toISOString(),
    EndDate: schedule.EndDate ? wholeSeconds(schedule.EndDate).toISOString() : undefined,
    Description: schedule.Description || undefined,
    State: schedule.State ?? 'ENABLED',
    'Target.Arn': target?.Arn,
    'Target.RoleArn': target?.RoleArn,
    'Target.Input': target?.Input,
    'Target.RetryPolicy': retry
      ? `${retry.MaximumRetryAttempts} attempts within ${retry.MaximumEventAgeInSeconds} s`
      : undefined,
    'Target.DeadLetterConfig.Arn': target?.DeadLetterConfig?.Arn,
    'Target.SqsParameters.MessageGroupId': target?.SqsParameters?.MessageGroupId,
  };
}

function scheduleDrift(want: DesiredSchedule, have: GetScheduleCommandOutput): ScheduleDrift[] {
  const wanted = fieldsOf(want);
  const actual = fieldsOf(have);
  return Object.keys(wanted)
    .filter((field) => wanted[field] !== actual[field])
    .map((field) => ({ field, want: wanted[field] ?? '(unset)', have: actual[field] ?? '(unset)' }));
}

/** IAM hands documents back URL-encoded; they are compared as JSON, not as text. */
function documentDrift(field: string, want: unknown, encoded: string | undefined): ScheduleDrift | undefined {
  const have = encoded === undefined ? undefined : JSON.parse(decodeURIComponent(encoded));
  if (JSON.stringify(have) === JSON.stringify(want)) return undefined;
  return { field, want, have: have ?? '(none)' };
}

/** A date still to come, in whole seconds, or undefined (unset, or passed). */
function futureDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = wholeSeconds(value);
  return date.getTime() > Date.now() ? date : undefined;
}

/** EventBridge keeps dates to the second: compared and sent so, milliseconds never drift. */
function wholeSeconds(value: string | Date): Date {
  return new Date(Math.floor(new Date(value).getTime() / 1000) * 1000);
}

/** Names within 64 characters: a longer one is cut, with a hash of the whole so two never meet. */
function boundedName(name: string): string {
  if (name.length <= NAME_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, NAME_MAX - hash.length - 1)}-${hash}`;
}

async function scheduleNames(scheduler: SchedulerClient, group: string): Promise<string[]> {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await scheduler.send(new ListSchedulesCommand({ GroupName: group, NextToken }));
    names.push(...(page.Schedules ?? []).flatMap(({ Name }) => (Name ? [Name] : [])));
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  return names;
}

/** The answer, or undefined when the resource does not exist (either service's way of saying so). */
async function orMissing<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ResourceNotFoundException' || name === 'NoSuchEntityException' || name === 'NoSuchEntity') {
      return undefined;
    }
    throw error;
  }
}

async function exists(call: () => Promise<unknown>): Promise<boolean> {
  return (await orMissing(call)) !== undefined;
}

/**
 * IAM is eventually consistent: a role created seconds ago may not yet be one EventBridge can
 * assume, and it says so with a ValidationException. Tried again for about half a minute.
 */
async function retriedWhileRoleIsNew<T>(call: () => Promise<T>, roleIsNew: boolean): Promise<T> {
  const waits = roleIsNew ? [1000, 2000, 4000, 8000, 16_000] : [];
  for (const wait of waits) {
    try {
      return await call();
    } catch (error) {
      const { name, message } = error as Error;
      if (name !== 'ValidationException' || !/role/i.test(message)) throw error;
      await sleep(wait);
    }
  }
  return call();
}

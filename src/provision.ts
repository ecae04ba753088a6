// Provisioning a worker's queues, and its schedules in EventBridge Scheduler, in an AWS account (or
// a local emulator): who we act as first, then the plan, then — if asked and confirmed — the
// changes. The SQS work itself is the worker runtime's (templates/worker/src/runtime/provision.ts),
// shared with `npm run dev`; the schedules' is src/schedules/provision.ts.
import { deadLetterQueueName, fullQueueName, isFifo } from '../templates/worker/src/runtime/naming.ts';
import {
  type ApplyEntry,
  applyPlan,
  DEFAULT_QUEUE_SETTINGS,
  type DesiredQueue,
  desiredQueues,
  type PlanEntry,
  planQueues,
} from '../templates/worker/src/runtime/provision.ts';
import type { QueueBinding } from '../templates/worker/src/runtime/queues.ts';
import { type AwsClients, awsCall, type Identity, whoAmI, withAws } from './aws.ts';
import { CancelledError } from './errors.ts';
import { partitionOf } from './iam-policy.ts';
import { applyBucketPlan, type BucketPlan, bucketWrites, payloadBucketOf, planBucket } from './payload-bucket.ts';
import type { LoadedSchedule } from './schedules/load.ts';
import {
  applySchedulePlan,
  planSchedules,
  type SchedulePlan,
  type SchedulePlanOptions,
} from './schedules/provision.ts';

export interface ProvisionOptions {
  worker: string;
  queues: readonly QueueBinding[];
  env: string;
  user: string;
  region: string;
  profile?: string;
  /** A local SQS emulator; any credentials do there. */
  endpoint?: string;
  dryRun?: boolean;
  fix?: boolean;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** src/config/schedules.ts, loaded: each becomes an EventBridge schedule (not in env local). */
  schedules?: readonly LoadedSchedule[];
  /** Delete the schedules of the worker's group that schedules.ts no longer has. */
  prune?: boolean;
  /** The role EventBridge sends as, owned by someone else: none is created. */
  schedulerRoleArn?: string;
  /**
   * With the large-payloads integration: its bucket (default: defaultPayloadBucket) and key prefix,
   * made to exist with the queues.
   */
  payloads?: { bucket?: string | undefined; prefix: string };
  /** Asked with the plan (who, where, what) before changing anything; resolving false cancels. */
  confirm?(plan: ProvisionReport): Promise<boolean>;
  /** Ctrl-C: stops at once with a CancelledError; what was created stays, and a rerun finishes. */
  signal?: AbortSignal;
}

export interface ProvisionReport {
  identity: Identity;
  region: string;
  dryRun: boolean;
  entries: (PlanEntry | ApplyEntry)[];
  /** The schedule group, its role and schedules; absent when the worker has none to provision. */
  schedules?: SchedulePlan;
  /** Why the schedules were left alone (env local: npm run dev fires them). */
  schedulesSkipped?: string;
  /** The large-payloads bucket, setting by setting; absent without the integration. */
  bucket?: BucketPlan;
}

export async function provision(options: ProvisionOptions): Promise<ProvisionReport> {
  return withAws(
    options,
    (clients) => provisionWith(clients, options),
    'Cancelled during provisioning; the queues created before it stay, and running it again creates the rest.',
  );
}

async function provisionWith(clients: AwsClients, options: ProvisionOptions): Promise<ProvisionReport> {
  const { sts, sqs } = clients;
  const identity = await whoAmI(sts, options);
  const settings = {
    maxReceiveCount: options.maxReceiveCount ?? DEFAULT_QUEUE_SETTINGS.maxReceiveCount,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEFAULT_QUEUE_SETTINGS.visibilityTimeoutSeconds,
    tags: { worker: options.worker, env: options.env, owner: options.user },
  };
  const { options: scheduling, skipped } = schedulingOptions(options, identity);
  const names = options.queues.map(({ queue }) => fullQueueName(queue, options));
  const scheduled = (scheduling?.schedules ?? []).map(({ queue }) => fullQueueName(queue, options));
  const desired = withDeduplication(desiredQueues(names, settings), scheduled);
  const plan = await awsCall(() => planQueues(sqs, desired), 'reading the queues');
  const schedules = scheduling
    ? await awsCall(() => planSchedules(clients, scheduling), 'reading the schedules and their role')
    : undefined;
  const payloads = options.payloads && {
    ...payloadBucketOf(options.payloads, { worker: options.worker, env: options.env, account: identity.account }),
    local: options.env === 'local',
  };
  const bucket = payloads && (await awsCall(() => planBucket(clients.s3, payloads), 'reading the payload bucket'));
  const report: ProvisionReport = {
    identity,
    region: options.region,
    dryRun: Boolean(options.dryRun),
    entries: plan,
    ...(schedules ? { schedules } : {}),
    ...(skipped ? { schedulesSkipped: skipped } : {}),
    ...(bucket ? { bucket } : {}),
  };
  if (options.dryRun) return report;
  if (writes(report, options.fix) && options.confirm && !(await options.confirm(report))) {
    throw new CancelledError('Nothing was changed.');
  }
  // The queues first: a schedule's target and its dead-letter queue.
  const entries = await applyPlan(sqs, desired, plan, { fix: options.fix, tags: settings.tags });
  const applied =
    schedules &&
    scheduling &&
    (await awsCall(
      () => applySchedulePlan(clients, scheduling, schedules, { fix: options.fix, tags: settings.tags }),
      'creating the schedule group and the role',
    ));
  // The bucket before the worker could send a pointer to it: alongside its queues.
  const made =
    bucket &&
    (await awsCall(
      () => applyBucketPlan(clients.s3, bucket, { fix: options.fix, region: options.region }),
      'creating the payload bucket',
    ));
  return { ...report, entries, ...(applied ? { schedules: applied } : {}), ...(made ? { bucket: made } : {}) };
}

/** How many queues, schedules, the group and role, and bucket settings applying the plan would change. */
export function writes(
  { entries, schedules, bucket }: Pick<ProvisionReport, 'entries' | 'schedules' | 'bucket'>,
  fix?: boolean,
): number {
  return (
    entries.filter(({ action }) => action === 'create' || (action === 'drift' && fix)).length +
    scheduleWrites(schedules, fix) +
    bucketWrites(bucket, fix)
  );
}

/** The schedules created, fixed or deleted, plus the group and the role when they change. */
export function scheduleWrites(plan: SchedulePlan | undefined, fix?: boolean): number {
  if (!plan) return 0;
  const schedules = plan.entries.filter(
    ({ action }) => action === 'create' || action === 'delete' || (action === 'update' && fix),
  ).length;
  const role = plan.role.action === 'create' || (plan.role.action === 'update' && (fix || schedules > 0)) ? 1 : 0;
  return schedules + role + (plan.groupAction === 'create' ? 1 : 0);
}

/** What planning the schedules needs, or why they are left alone; neither when there are none. */
function schedulingOptions(
  options: ProvisionOptions,
  identity: Identity,
): { options?: SchedulePlanOptions; skipped?: string } {
  const schedules = options.schedules ?? [];
  if (schedules.length === 0 && !options.prune) return {};
  if (options.env === 'local') {
    return schedules.length ? { skipped: 'Env local has no EventBridge: npm run dev fires the schedules itself.' } : {};
  }
  const arn = (name: string) => `arn:${partitionOf(options.region)}:sqs:${options.region}:${identity.account}:${name}`;
  return {
    options: {
      worker: options.worker,
      env: options.env,
      user: options.user,
      schedules,
      prune: Boolean(options.prune),
      roleArn: options.schedulerRoleArn,
      queueArn: (queue) => arn(fullQueueName(queue, options)),
      deadLetterArn: (queue) => arn(deadLetterQueueName(fullQueueName(queue, options))),
    },
  };
}

/**
 * EventBridge sends no deduplication id: a FIFO queue a schedule sends to needs content-based
 * deduplication (each firing's message differs, by its execution id; a retried firing does not).
 */
function withDeduplication(desired: DesiredQueue[], scheduled: readonly string[]): DesiredQueue[] {
  return desired.map((queue) =>
    queue.role === 'queue' && isFifo(queue.name) && scheduled.includes(queue.name)
      ? { ...queue, attributes: { ...queue.attributes, ContentBasedDeduplication: 'true' } }
      : queue,
  );
}

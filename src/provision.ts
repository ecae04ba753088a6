// Provisioning a worker's queues in an AWS account (or a local emulator): who we act as first,
// then the plan, then — if asked and confirmed — the changes. The SQS work itself is the worker
// runtime's (templates/worker/src/runtime/provision.ts), shared with `npm run dev`.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';
import { fullQueueName } from '../templates/worker/src/runtime/naming.ts';
import {
  type ApplyEntry,
  applyPlan,
  DEFAULT_QUEUE_SETTINGS,
  desiredQueues,
  type PlanEntry,
  planQueues,
} from '../templates/worker/src/runtime/provision.ts';
import type { QueueBinding } from '../templates/worker/src/runtime/queues.ts';
import { awsCall, type Identity, whoAmI, withAws } from './aws.ts';
import { CancelledError } from './errors.ts';

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
}

export async function provision(options: ProvisionOptions): Promise<ProvisionReport> {
  return withAws(
    options,
    ({ sts, sqs }) => provisionWith(sts, sqs, options),
    'Cancelled during provisioning; the queues created before it stay, and running it again creates the rest.',
  );
}

async function provisionWith(sts: STSClient, sqs: SQSClient, options: ProvisionOptions): Promise<ProvisionReport> {
  const identity = await whoAmI(sts, options);
  const settings = {
    maxReceiveCount: options.maxReceiveCount ?? DEFAULT_QUEUE_SETTINGS.maxReceiveCount,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEFAULT_QUEUE_SETTINGS.visibilityTimeoutSeconds,
    tags: { worker: options.worker, env: options.env, owner: options.user },
  };
  const names = options.queues.map(({ queue }) => fullQueueName(queue, options));
  const desired = desiredQueues(names, settings);
  const plan = await awsCall(() => planQueues(sqs, desired), 'reading the queues');
  const report = { identity, region: options.region, dryRun: Boolean(options.dryRun), entries: plan };
  if (options.dryRun) return report;
  if (writes(report, options.fix) && options.confirm && !(await options.confirm(report))) {
    throw new CancelledError('Nothing was changed.');
  }
  return { ...report, entries: await applyPlan(sqs, desired, plan, { fix: options.fix, tags: settings.tags }) };
}

/** How many queues applying the plan would change: created, or fixed with `fix`. */
export function writes({ entries }: Pick<ProvisionReport, 'entries'>, fix?: boolean): number {
  return entries.filter(({ action }) => action === 'create' || (action === 'drift' && fix)).length;
}

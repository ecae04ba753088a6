// Provisioning a worker's queues in an AWS account (or a local emulator): who we act as first,
// then the plan, then — if asked and confirmed — the changes. The SQS work itself is the worker
// runtime's (templates/worker/src/runtime/provision.ts), shared with `npm run dev`.
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
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
import { awsClientConfig, CREDENTIAL_ERRORS, SQS_TIMEOUTS } from '../templates/worker/src/runtime/sqs.ts';
import { CancelledError, EnvironmentError } from './errors.ts';

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
  identity: { account: string; arn: string };
  region: string;
  dryRun: boolean;
  entries: (PlanEntry | ApplyEntry)[];
}

export async function provision(options: ProvisionOptions): Promise<ProvisionReport> {
  // Every request has a deadline: an endpoint that never answers fails instead of hanging.
  const config = { ...awsClientConfig(options), requestHandler: SQS_TIMEOUTS };
  const sts = new STSClient(config);
  const sqs = new SQSClient(config);
  let reject: (error: Error) => void = () => {};
  const stopped = new Promise<never>((_, fail) => {
    reject = fail;
  });
  const cancel = () =>
    reject(
      new CancelledError(
        'Cancelled during provisioning; the queues created before it stay, and running it again creates the rest.',
      ),
    );
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    // Races the work with Ctrl-C; closing the clients (finally) ends the requests still open.
    return await Promise.race([stopped, provisionWith(sts, sqs, options)]);
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    sts.destroy();
    sqs.destroy();
  }
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

async function whoAmI(sts: STSClient, options: ProvisionOptions): Promise<ProvisionReport['identity']> {
  const { Account = '', Arn = '' } = await awsCall(
    () => sts.send(new GetCallerIdentityCommand({})),
    'checking the AWS credentials',
    options,
  );
  return { account: Account, arn: Arn };
}

/** Turns AWS failures into one sentence with the fix, never a stack trace. */
async function awsCall<T>(call: () => Promise<T>, doing: string, options?: ProvisionOptions): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { name, message } = error as Error;
    if (CREDENTIAL_ERRORS.has(name)) {
      throw new EnvironmentError(
        `No usable AWS credentials${options?.profile ? ` in profile "${options.profile}"` : ''} (${message.split('\n')[0]}). Log in (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or pass --endpoint http://localhost:4566 for a local SQS.`,
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') {
      throw new EnvironmentError(`Cannot reach AWS while ${doing}: ${message}. Is the endpoint right and running?`);
    }
    throw new EnvironmentError(`AWS refused ${doing}: ${name}: ${message}`);
  }
}

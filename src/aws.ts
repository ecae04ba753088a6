// Talking to AWS (or a local SQS) for the commands that act on a worker's queues: clients with
// deadlines, who we act as (STS) before anything else, and AWS failures as one sentence.
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CREDENTIAL_ERRORS } from '../templates/worker/src/runtime/errors.ts';
import { awsClientConfig, SQS_TIMEOUTS } from '../templates/worker/src/runtime/sqs.ts';
import { LOCAL_SQS_ENDPOINT, networkCode } from '../templates/worker/src/runtime/startup.ts';
import { CancelledError, EnvironmentError, UserError } from './errors.ts';

export interface AwsTarget {
  region: string;
  profile?: string | undefined;
  /** A local SQS emulator; any credentials do there. */
  endpoint?: string | undefined;
}

/** Who the commands act as; `endpoint` when it is a local SQS without STS (local-aws-sqs). */
export interface Identity {
  account: string;
  arn: string;
  endpoint?: string;
}

export interface AwsClients {
  sts: STSClient;
  sqs: SQSClient;
  /** EventBridge Scheduler and IAM: `provision` makes the worker's schedules and their role. */
  scheduler: SchedulerClient;
  iam: IAMClient;
  /** The large-payloads integration's bucket. */
  s3: S3Client;
}

/**
 * Runs `work` with fresh clients, closed after it. With `cancelled`, Ctrl-C (`signal`) stops at once
 * with a CancelledError of that message: closing the clients ends the requests still open.
 */
export async function withAws<T>(
  target: AwsTarget & { signal?: AbortSignal | undefined },
  work: (clients: AwsClients) => Promise<T>,
  cancelled?: string,
): Promise<T> {
  // Every request has a deadline: an endpoint that never answers fails instead of hanging.
  const config = { ...awsClientConfig(target), requestHandler: SQS_TIMEOUTS };
  const clients = {
    sts: new STSClient(config),
    sqs: new SQSClient(config),
    scheduler: new SchedulerClient(config),
    iam: new IAMClient(config),
    // An emulator (fauxqs, moto) on one host:port has no bucket subdomains.
    s3: new S3Client({ ...config, forcePathStyle: Boolean(target.endpoint) }),
  };
  const { signal } = target;
  let reject: (error: Error) => void = () => {};
  const stopped = new Promise<never>((_, fail) => {
    reject = fail;
  });
  const cancel = () => reject(new CancelledError(cancelled));
  if (cancelled !== undefined) {
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
  }
  try {
    return await Promise.race([stopped, work(clients)]);
  } finally {
    signal?.removeEventListener('abort', cancel);
    for (const client of Object.values(clients)) client.destroy();
  }
}

/** STS GetCallerIdentity: missing or expired credentials are one sentence with the fix (exit 2). */
export async function whoAmI(sts: STSClient, target: AwsTarget): Promise<Identity> {
  try {
    const { Account = '', Arn = '' } = await sts.send(new GetCallerIdentityCommand({}));
    return { account: Account, arn: Arn };
  } catch (error) {
    // A local SQS may have no STS: there is no account to name, only the endpoint.
    if (target.endpoint && isUnsupported(error)) return { account: 'local', arn: '', endpoint: target.endpoint };
    throw awsError(error, 'checking the AWS credentials', target);
  }
}

/** Runs an AWS call; a failure becomes an EnvironmentError saying what was being done. */
export async function awsCall<T>(call: () => Promise<T>, doing: string, target?: AwsTarget): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsError(error, doing, target);
  }
}

/** An AWS failure as one sentence with the fix, never a stack trace; typed errors pass through. */
export function awsError(error: unknown, doing: string, target?: AwsTarget): Error {
  if (error instanceof CancelledError || error instanceof EnvironmentError || error instanceof UserError) return error;
  const { name, message } = error as Error;
  if (CREDENTIAL_ERRORS.has(name)) {
    return new EnvironmentError(
      `No usable AWS credentials${target?.profile ? ` in profile "${target.profile}"` : ''} (${message.split('\n')[0]}). Log in (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or pass --endpoint http://localhost:4566 for a local SQS.`,
    );
  }
  const code = networkCode(error);
  if (code && target?.endpoint) {
    const fix =
      target.endpoint === LOCAL_SQS_ENDPOINT
        ? 'start `npm run dev` in another terminal (it runs the local SQS there)'
        : 'start that SQS, or fix --endpoint';
    return new EnvironmentError(`No SQS answers at ${target.endpoint} (${code}) while ${doing}: ${fix}.`);
  }
  if (code) {
    return new EnvironmentError(
      `Cannot reach AWS in region ${target?.region ?? '?'} (${code}) while ${doing}: check the region and this machine's network.`,
    );
  }
  return new EnvironmentError(`AWS refused ${doing}: ${name}: ${message}`);
}

/**
 * The SQS of an env when no --endpoint is given: env local is the local SQS of `npm run dev`, as
 * it is for the worker itself (APP_ENV=local never means AWS); every other env is AWS.
 */
export function defaultEndpoint(env: string, endpoint?: string): string | undefined {
  return endpoint ?? (env === 'local' ? LOCAL_SQS_ENDPOINT : undefined);
}

/** The endpoint does not have this action at all (fauxqs: no message moves; local-aws-sqs: no STS). */
export function isUnsupported(error: unknown): boolean {
  const name = (error as Error | undefined)?.name ?? '';
  return (
    name === 'InvalidAction' ||
    name === 'UnsupportedOperation' ||
    name === 'AWS.SimpleQueueService.UnsupportedOperation' ||
    name === 'UnknownOperationException'
  );
}

/** "AWS account … as …, region …", or the local SQS it talks to. */
export function whoAndWhere(identity: Identity, region: string): string {
  return identity.endpoint
    ? `local SQS at ${identity.endpoint} (no STS there), region ${region}`
    : `AWS account ${identity.account} as ${identity.arn}, region ${region}`;
}

// The least-privilege IAM policies a worker needs in an AWS env: its own role's, and KEDA's (which
// scales it on queue depth). Every Resource is one queue's ARN: no `*` anywhere, so a worker can
// touch its own queues and the ones it sends to, and nothing else in the account. A worker with
// schedules also gets the policy `be-worker provision` needs for them: its schedule group, the
// schedules in it, and the role EventBridge sends as.
import { deadLetterQueueName, envNameSchema, fullQueueName } from '../templates/worker/src/runtime/naming.ts';
import type { QueueBinding } from '../templates/worker/src/runtime/queues.ts';
import { awsError, whoAmI, withAws } from './aws.ts';
import { EnvironmentError, UserError } from './errors.ts';
import type { PayloadBucket } from './payload-bucket.ts';
import { scheduleGroupName, schedulerRoleName } from './schedules/provision.ts';

/**
 * The SQS calls the worker's process makes (test/iam-policy.test.ts reads them from its code) on
 * the queues it consumes: receive; delete (DeleteMessageBatch, which sqs:DeleteMessage allows);
 * keep the lease (ChangeMessageVisibilityBatch: sqs:ChangeMessageVisibility); send a retry's
 * delayed copy; and, at start-up and for the depth metrics, the URL and attributes.
 */
export const CONSUMER_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
  'sqs:SendMessage',
] as const;

/**
 * On the queues it only sends to — its err- queues (dead letters) and the queues src/config/routes.ts
 * routes canvas steps to: the URL, the size limit (and err- depth), and the send.
 */
export const SENDER_ACTIONS = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'] as const;

/** KEDA's aws-sqs-queue trigger reads a queue's depth, and does nothing else. */
export const KEDA_ACTIONS = ['sqs:GetQueueAttributes'] as const;

/** What `be-worker provision` reads and writes in EventBridge Scheduler for the schedules. */
export const SCHEDULE_GROUP_ACTIONS = [
  'scheduler:CreateScheduleGroup',
  'scheduler:GetScheduleGroup',
  // The group is created with its worker/env/owner tags.
  'scheduler:TagResource',
] as const;
export const SCHEDULE_ACTIONS = [
  'scheduler:CreateSchedule',
  'scheduler:DeleteSchedule',
  'scheduler:GetSchedule',
  'scheduler:UpdateSchedule',
] as const;
/** On the role EventBridge sends as, when provision makes it (not with --scheduler-role-arn). */
export const SCHEDULER_ROLE_ACTIONS = [
  'iam:CreateRole',
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:PutRolePolicy',
  'iam:TagRole',
  'iam:UpdateAssumeRolePolicy',
] as const;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface IamPolicies {
  /** For the role the worker runs as. */
  worker: PolicyDocument;
  /** For the role KEDA reads the queues' depth with. */
  keda: PolicyDocument;
  /** For who runs `be-worker provision` (a person, CI): the schedules' part; only with schedules. */
  schedules?: PolicyDocument;
}

export interface PolicyTarget {
  env: string;
  region: string;
  /** The 12-digit AWS account the queues are in. */
  account: string;
  queues: readonly QueueBinding[];
  /** src/config/routes.ts: task → short name of the queue other workers consume. */
  routes?: Readonly<Record<string, string>>;
  /** When the worker has schedules: its name (its schedule group's) and --scheduler-role-arn if given. */
  scheduling?: { worker: string; roleArn?: string | undefined };
  /** With the large-payloads integration: its bucket and key prefix. */
  payloads?: PayloadBucket;
}

/**
 * The S3 calls of the large-payloads integration: the body written before its message is sent (past
 * 8 MiB in parts: IAM authorizes CreateMultipartUpload, UploadPart and CompleteMultipartUpload as
 * s3:PutObject, and an upload given up as s3:AbortMultipartUpload), read back (GetObject also allows
 * HeadObject), deleted once its message is. On the prefix's objects only: not the bucket itself, nor
 * its other keys.
 */
export const PAYLOAD_ACTIONS = ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'] as const;

export function iamPolicies({
  env,
  region,
  account,
  queues,
  routes = {},
  scheduling,
  payloads,
}: PolicyTarget): IamPolicies {
  checkedEnv(env);
  if (!/^\d{12}$/.test(account)) {
    throw new UserError(`"${account}" is not an AWS account id: pass the 12 digits, e.g. --account 123456789012`);
  }
  // Shared envs name queues without a user (naming.ts); local was refused above.
  const naming = { env, user: '' };
  const arn = (name: string) => `arn:${partitionOf(region)}:sqs:${region}:${account}:${name}`;
  const own = unique(queues.map(({ queue }) => fullQueueName(queue, naming)));
  const routed = unique(Object.values(routes).map((queue) => fullQueueName(queue, naming))).filter(
    (name) => !own.includes(name),
  );
  const sentTo = [...own.map(deadLetterQueueName), ...routed];
  return {
    worker: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ConsumeItsQueues', Effect: 'Allow', Action: [...CONSUMER_ACTIONS], Resource: own.map(arn) },
        {
          Sid: 'SendToDeadLetterAndRoutedQueues',
          Effect: 'Allow',
          Action: [...SENDER_ACTIONS],
          Resource: sentTo.map(arn),
        },
        ...(payloads
          ? [
              {
                Sid: 'LargePayloadObjects',
                Effect: 'Allow' as const,
                Action: [...PAYLOAD_ACTIONS],
                Resource: [`arn:${partitionOf(region)}:s3:::${payloads.bucket}/${payloads.prefix}*`],
              },
            ]
          : []),
      ],
    },
    keda: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'ReadQueueDepth', Effect: 'Allow', Action: [...KEDA_ACTIONS], Resource: own.map(arn) }],
    },
    ...(scheduling ? { schedules: schedulesPolicy({ env, region, account, ...scheduling }) } : {}),
  };
}

/**
 * Provisioning the schedules: the worker's group; the schedules in it (by the group, so --prune
 * may delete one schedules.ts no longer names); listing them, which IAM allows only on `*`; and the
 * role EventBridge sends as, passed to EventBridge Scheduler only, and made here unless given.
 */
function schedulesPolicy(target: {
  env: string;
  region: string;
  account: string;
  worker: string;
  roleArn?: string | undefined;
}): PolicyDocument {
  const { region, account } = target;
  const partition = partitionOf(region);
  const group = scheduleGroupName(target);
  const scheduler = (resource: string) => `arn:${partition}:scheduler:${region}:${account}:${resource}`;
  const role = target.roleArn ?? `arn:${partition}:iam::${account}:role/${schedulerRoleName(group)}`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ItsScheduleGroup',
        Effect: 'Allow',
        Action: [...SCHEDULE_GROUP_ACTIONS],
        Resource: [scheduler(`schedule-group/${group}`)],
      },
      {
        Sid: 'ItsSchedules',
        Effect: 'Allow',
        Action: [...SCHEDULE_ACTIONS],
        Resource: [scheduler(`schedule/${group}/*`)],
      },
      { Sid: 'ListSchedules', Effect: 'Allow', Action: ['scheduler:ListSchedules'], Resource: ['*'] },
      {
        Sid: 'PassTheSchedulerRole',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [role],
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
      ...(target.roleArn
        ? []
        : [
            {
              Sid: 'MakeTheSchedulerRole',
              Effect: 'Allow' as const,
              Action: [...SCHEDULER_ROLE_ACTIONS],
              Resource: [role],
            },
          ]),
    ],
  };
}

/** An env with IAM: a valid name, and not local (the SQS of `npm run dev`, which has none). */
export function checkedEnv(env: string): string {
  const checked = envNameSchema.safeParse(env);
  if (!checked.success) throw new UserError(`--env "${env}": ${checked.error.issues[0]?.message}`);
  if (env === 'local') {
    throw new UserError(
      'Env local is the local SQS of npm run dev, which has no IAM: the policies are for AWS envs; pass one, e.g. --env dev or --env prod.',
    );
  }
  return env;
}

/** The ARN partition of a region: China and GovCloud have their own. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The account of the credentials (STS GetCallerIdentity), or why it cannot be had and what to pass. */
export async function callerAccount(target: {
  region: string;
  profile?: string;
  signal?: AbortSignal;
}): Promise<string> {
  try {
    return (await withAws(target, ({ sts }) => whoAmI(sts, target), 'Cancelled.')).account;
  } catch (error) {
    const reason = awsError(error, 'asking STS for the account', target);
    if (!(reason instanceof EnvironmentError)) throw reason;
    throw new EnvironmentError(
      `The AWS account the queues are in is needed for their ARNs, and STS could not say (${reason.message.split(' (')[0]}): pass --account <12 digits>, or log in to that account (aws sso login, or AWS_PROFILE).`,
    );
  }
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

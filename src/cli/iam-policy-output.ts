// `be-worker iam-policy` for people: each policy with what it is for and where it goes.
import type { IamPolicies } from '../iam-policy.ts';
import { beWorkerCommand } from '../package-manager.ts';

export interface PolicyHeading {
  worker: string;
  env: string;
  account: string;
  region: string;
}

export function formatPolicies(policies: IamPolicies, { worker, env, account, region }: PolicyHeading): string {
  const json = (document: unknown) => JSON.stringify(document, null, 2);
  const payloads = policies.worker.Statement.find(({ Sid }) => Sid === 'LargePayloadObjects')?.Resource[0];
  return [
    `IAM policies of ${worker} in env "${env}" of AWS account ${account}, region ${region}. No * ${policies.schedules ? "in the worker's and KEDA's" : 'anywhere'}: each queue by its ARN${payloads ? ', and the large payloads by their key prefix (the one * there)' : ''}.`,
    '',
    "1. The worker's role: attach to the IAM role its pods run as (its Kubernetes ServiceAccount's role, by IRSA or an EKS Pod Identity association; on ECS, the task role).",
    '   Exactly the SQS calls the worker makes: on its queues, receive, delete, keep the lease and send retries; to their err- queues and the queues src/config/routes.ts names, send; on each, read the URL and attributes.',
    ...(payloads
      ? [
          `   And the large-payloads integration's S3 calls, on ${payloads} only: write a body before its message is sent, read it back, delete it once its message is.`,
        ]
      : []),
    json(policies.worker),
    '',
    "2. KEDA's role: attach to the role KEDA reads queue depth as (the keda-operator ServiceAccount's role, or the roleArn of the TriggerAuthentication; with identityOwner: workload KEDA uses the worker's role, which allows this already).",
    '   Only sqs:GetQueueAttributes, on the queues it scales the worker on.',
    json(policies.keda),
    '',
    ...(policies.schedules
      ? [
          `3. Who runs be-worker provision (a person's role, or CI's): what provisioning the schedules needs, besides the queues.`,
          `   Its schedule group and the schedules in it (by the group: --prune deletes one schedules.ts no longer names); listing them (IAM allows that on * only); passing the role EventBridge sends as to EventBridge Scheduler, and making that role unless --scheduler-role-arn names one.`,
          json(policies.schedules),
          '',
        ]
      : []),
    `${beWorkerCommand(`iam-policy --env ${env} --json`)} prints the documents only, { "worker": …, "keda": …${policies.schedules ? ', "schedules": …' : ''} }; save each as a file for`,
    `  aws iam put-role-policy --role-name <role> --policy-name ${worker}-sqs --policy-document file://<file>`,
    'Run it again after add-queue or a change to routes.ts. A canvas step sent to a queue its signature names (options.queue) needs that queue added by hand.',
  ].join('\n');
}

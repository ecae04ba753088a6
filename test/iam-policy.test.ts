// The IAM policies of `be-worker iam-policy`: exactly the SQS calls the worker's code makes (read
// from the code, not listed by hand), on exactly its queues, with no `*` anywhere.
import { describe, expect, it } from 'vitest';
import { type IamPolicies, iamPolicies } from '../src/iam-policy.ts';
import { renderWorker } from '../src/render.ts';
import { type Spec, validateSpec } from '../src/spec.ts';
import { sdkCommands } from './support/sdk-calls.ts';

const spec = (overrides: Partial<Spec> = {}): Spec =>
  validateSpec({
    name: 'image-resizer',
    description: 'Resizes images',
    queues: [{ queue: 'resize', task: 'resize' }],
    env: 'local',
    user: 'alice',
    region: 'eu-west-1',
    packageManager: 'npm',
    integrations: [],
    ...overrides,
  });

/**
 * The IAM action that authorises an SDK command. SQS has no permission of its own for its batch
 * calls: sqs:SendMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility allow them (the SQS
 * developer guide, "Amazon SQS batch actions").
 */
function actionOf(command: string): string {
  const operation = command.replace(/Command$/, '');
  const batchOf: Record<string, string> = {
    SendMessageBatch: 'SendMessage',
    DeleteMessageBatch: 'DeleteMessage',
    ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
  };
  return `sqs:${batchOf[operation] ?? operation}`;
}

const actions = (policy: IamPolicies['worker']) => new Set(policy.Statement.flatMap((statement) => statement.Action));
const resources = (policy: IamPolicies['worker'], sid: string) =>
  policy.Statement.find((statement) => statement.Sid === sid)?.Resource ?? [];

describe('the worker role’s policy', () => {
  it.each([
    ['no integration', spec()],
    [
      'every integration, three queues',
      spec({
        integrations: ['fluent', 'ratelimit', 'sentry', 'tracing', 'vault'],
        queues: [
          { queue: 'resize', task: 'resize', ratelimit: 'images' },
          { queue: 'thumbs.fifo', task: 'thumb' },
          { queue: 'add', task: 'add' },
        ],
      }),
    ],
  ])('allows exactly the SQS calls the worker’s code makes, and no other service (%s)', async (_, workerSpec) => {
    const tree = await renderWorker(workerSpec);
    const called = sdkCommands(tree, 'src/main.ts');
    // Only SQS: no S3, STS or other client anywhere the worker's process reaches.
    expect([...called.keys()]).toEqual(['@aws-sdk/client-sqs']);
    const needed = new Set([...(called.get('@aws-sdk/client-sqs') ?? [])].map(actionOf));
    const policies = iamPolicies({
      env: 'prod',
      region: 'eu-west-1',
      account: '123456789012',
      queues: workerSpec.queues,
    });
    expect([...actions(policies.worker)].sort()).toEqual([...needed].sort());
    // The reading sees more where the code does more: `npm run dev` creates its local queues.
    const dev = [...(sdkCommands(tree, 'scripts/dev-worker.ts').get('@aws-sdk/client-sqs') ?? [])];
    expect(dev).toEqual(expect.arrayContaining(['CreateQueueCommand', 'SetQueueAttributesCommand']));
  });

  it.each([
    ['dev', 'eu-west-1', 'aws'],
    ['prod', 'us-east-2', 'aws'],
    ['staging-2', 'cn-north-1', 'aws-cn'],
    ['q', 'us-gov-west-1', 'aws-us-gov'],
  ])(
    'names each queue and its err- queue by its ARN in env %s, region %s, and nothing with *',
    (env, region, partition) => {
      const queues = [
        { queue: 'orders', task: 'ship' },
        { queue: 'ledger.fifo', task: 'post' },
        { queue: 'a', task: 'a' },
      ];
      const policies = iamPolicies({ env, region, account: '000000000042', queues });
      const arn = (name: string) => `arn:${partition}:sqs:${region}:000000000042:${name}`;
      const own = [`${env}-orders`, `${env}-ledger.fifo`, `${env}-a`];
      expect(resources(policies.worker, 'ConsumeItsQueues')).toEqual(own.map(arn));
      // Dead letters are only sent: reading or deleting them is a person's job (be-worker dlq).
      expect(resources(policies.worker, 'SendToDeadLetterAndRoutedQueues')).toEqual(
        own.map((name) => arn(`err-${name}`)),
      );
      expect(policies.worker.Statement[1]?.Action).toEqual([
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ]);
      // KEDA reads the depth of the queues it scales on, the worker's own.
      expect(policies.keda.Statement).toEqual([
        { Sid: 'ReadQueueDepth', Effect: 'Allow', Action: ['sqs:GetQueueAttributes'], Resource: own.map(arn) },
      ]);
      for (const statement of [...policies.worker.Statement, ...policies.keda.Statement]) {
        for (const value of [...statement.Action, ...statement.Resource]) expect(value).not.toContain('*');
        expect(statement.Resource.length).toBeGreaterThan(0);
      }
    },
  );

  it('sends to the queues routes.ts names, once each, without consuming them; a route to its own queue stays as it is', () => {
    const { worker } = iamPolicies({
      env: 'prod',
      region: 'eu-west-1',
      account: '123456789012',
      queues: [{ queue: 'resize', task: 'resize' }],
      routes: { 'images.store': 'images-store', 'images.*': 'images-store', resize: 'resize', bill: 'billing' },
    });
    const arn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:${name}`;
    expect(resources(worker, 'ConsumeItsQueues')).toEqual([arn('prod-resize')]);
    expect(resources(worker, 'SendToDeadLetterAndRoutedQueues')).toEqual([
      arn('err-prod-resize'),
      arn('prod-images-store'),
      arn('prod-billing'),
    ]);
  });

  it('refuses env local (no IAM there), an env name that is not one, and an account that is not 12 digits, naming each', () => {
    const target = { region: 'eu-west-1', account: '123456789012', queues: [{ queue: 'a', task: 'a' }] };
    expect(() => iamPolicies({ ...target, env: 'local' })).toThrow(/local SQS of npm run dev.*AWS envs.*--env dev/);
    expect(() => iamPolicies({ ...target, env: 'Prod_1' })).toThrow(/--env "Prod_1": an environment name is/);
    expect(() => iamPolicies({ ...target, env: 'prod', account: '1234' })).toThrow(/"1234" is not an AWS account id/);
  });
});

// The IAM policies of `be-worker iam-policy`: exactly the SQS calls the worker's code makes (read
// from the code, not listed by hand), on exactly its queues, with no `*` anywhere; and a running
// worker's calls, as SQS sees them, each allowed on the queue it is made on.
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type IamPolicies, iamPolicies } from '../src/iam-policy.ts';
import { renderWorker } from '../src/render.ts';
import { type Spec, validateSpec } from '../src/spec.ts';
import { RetryLaterError } from '../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../templates/worker/src/runtime/metrics.ts';
import { Producer, sig } from '../templates/worker/src/runtime/producer.ts';
import { provisionQueues } from '../templates/worker/src/runtime/provision.ts';
import { awsClientConfig, resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../templates/worker/src/runtime/task.ts';
import { sleep } from '../templates/worker/src/runtime/timing.ts';
import { startWorker } from '../templates/worker/src/runtime/worker.ts';
import { waitFor } from './support/process.ts';
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

  it('with large-payloads, also exactly the S3 object calls its code makes, on the prefix only', async () => {
    const tree = await renderWorker(spec({ integrations: ['large-payloads'] }));
    const called = sdkCommands(tree, 'src/main.ts');
    expect([...called.keys()].sort()).toEqual(['@aws-sdk/client-s3', '@aws-sdk/client-sqs']);
    // IAM authorizes the parts of a multipart upload as s3:PutObject (the S3 docs' "Multipart upload
    // API and permissions"); every other call is its own action.
    const asPut = ['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'];
    const s3 = [
      ...new Set(
        [...(called.get('@aws-sdk/client-s3') ?? [])]
          .map((command) => command.replace(/Command$/, ''))
          .map((operation) => `s3:${asPut.includes(operation) ? 'PutObject' : operation}`),
      ),
    ];
    expect(s3).toEqual(expect.arrayContaining(['s3:AbortMultipartUpload', 's3:PutObject']));
    // CreateBucket is the local emulator's only (it starts empty): on AWS, be-worker provision makes the bucket.
    expect(tree.get('src/integrations/large-payloads.ts')).toContain('createBucket: endpoint !== undefined && local');
    const policies = iamPolicies({
      env: 'prod',
      region: 'eu-west-1',
      account: '123456789012',
      queues: [{ queue: 'resize', task: 'resize' }],
      payloads: { bucket: 'prod-image-resizer-large-payloads-123456789012', prefix: 'big/' },
    });
    const statement = policies.worker.Statement.find(({ Sid }) => Sid === 'LargePayloadObjects');
    expect(statement?.Action).toEqual(s3.filter((action) => action !== 's3:CreateBucket').sort());
    expect(statement?.Resource).toEqual(['arn:aws:s3:::prod-image-resizer-large-payloads-123456789012/big/*']);
    const sqs = new Set([...(called.get('@aws-sdk/client-sqs') ?? [])].map(actionOf));
    expect([...actions(policies.worker)].filter((action) => action.startsWith('sqs:')).sort()).toEqual([...sqs].sort());
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

/**
 * Every SQS call a running worker makes — receive, lease, delete, retry, dead-letter, a link to a
 * queue routes.ts names, the depth metrics, the stop — recorded by the local SQS as it answers it,
 * from every thread, with the queue it was on; the test's own calls carry a user agent of their own.
 */
describe('a running worker, against the policy', () => {
  const TEST_AGENT = 'iam-policy-test';
  const calls: { action: string; queue: string }[] = [];
  let app: ReturnType<typeof buildApp>;
  let endpoint: string;

  beforeAll(async () => {
    app = buildApp({ logger: false });
    app.addHook('preHandler', async (request) => {
      const target = request.headers['x-amz-target'];
      if (typeof target !== 'string' || String(request.headers['user-agent']).includes(TEST_AGENT)) return;
      const { QueueUrl, QueueName } = (request.body ?? {}) as { QueueUrl?: string; QueueName?: string };
      calls.push({ action: `sqs:${target.split('.').at(-1)}`, queue: QueueName ?? QueueUrl?.split('/').at(-1) ?? '' });
    });
    endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('makes only calls the policy allows, on the queues it allows them on, and needs every action it allows', async () => {
    const naming = { env: 'prod', user: 'ann' };
    const queues = [
      { queue: 'orders', task: 'ship' },
      { queue: 'refunds', task: 'refund' },
    ];
    const routes = { bill: 'billing' };
    const client = new SQSClient({
      ...awsClientConfig({ region: 'eu-west-1', endpoint }),
      customUserAgent: TEST_AGENT,
    });
    await provisionQueues(client, ['prod-orders', 'prod-refunds', 'prod-billing'], { visibilityTimeoutSeconds: 2 });
    let refunds = 0;
    const ship = defineTask({
      name: 'ship',
      args: z.tuple([z.string()]),
      retry: { maxRetries: 0 },
      async run([what]) {
        if (what === 'fail') throw new Error('cannot ship');
        // Longer than the visibility timeout: the lease is kept.
        if (what === 'slow') await sleep(3500);
        return what;
      },
    });
    const refund = defineTask({
      name: 'refund',
      args: z.tuple([]),
      run() {
        if (refunds++ === 0) throw new RetryLaterError(1);
        return 'refunded';
      },
    });
    const worker = await startWorker({
      sqs: { region: 'eu-west-1', endpoint },
      queues,
      tasks: [ship, refund],
      routes,
      naming,
      concurrency: 2,
      metrics: createMetrics('iam_policy', { defaultMetrics: false }),
      log: createLogger('iam-policy', 'silent'),
      waitTimeSeconds: 1,
      queueDepthIntervalSeconds: 1,
    });
    try {
      const producer = new Producer(client, queues, naming, { routes });
      await producer.send(ship, ['slow'], { link: sig('bill') });
      await producer.send(ship, ['fail']);
      await producer.send(refund, []);
      await waitFor(
        'the link, the dead letter and the retried refund',
        async () => {
          const done = ['prod-billing', 'err-prod-orders'].map((name) => depthOf(client, name));
          return (await Promise.all(done)).every((count) => count === 1) && refunds === 2 ? true : undefined;
        },
        30_000,
      );
    } finally {
      await worker.stop(5);
    }
    const { worker: policy } = iamPolicies({
      env: 'prod',
      region: 'eu-west-1',
      account: '123456789012',
      queues,
      routes,
    });
    const allowed = (action: string, queue: string) =>
      policy.Statement.some(
        (statement) => statement.Action.includes(action) && statement.Resource.some((arn) => arn.endsWith(`:${queue}`)),
      );
    const refused = calls.filter(({ action, queue }) => !allowed(normalAction(action), queue));
    expect(refused).toEqual([]);
    expect(new Set(calls.map(({ action }) => normalAction(action)))).toEqual(actions(policy));
  }, 60_000);
});

/** Visible messages in a queue, asked as the test (not the worker). */
async function depthOf(client: SQSClient, name: string): Promise<number> {
  const url = await resolveQueueUrl(client, name);
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

/** The wire's action as IAM names it: a batch call is allowed by its single form. */
function normalAction(action: string): string {
  return actionOf(`${action.replace(/^sqs:/, '')}Command`);
}

// Provisioning against fauxqs in this process: plan, apply, re-apply, drift, FIFO, redrive.
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListQueueTagsCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPlan,
  DEFAULT_QUEUE_SETTINGS,
  desiredQueues,
  planQueues,
} from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';

let server: FauxqsServer;
let sqs: ReturnType<typeof createSqsClient>;
beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = createSqsClient({ region: 'us-east-1', endpoint: server.address });
});
afterAll(async () => {
  await server?.stop();
});

const settings = { ...DEFAULT_QUEUE_SETTINGS, maxReceiveCount: 2, tags: { worker: 'shop', env: 'dev', owner: 'ann' } };
const attributes = async (name: string) =>
  (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: await resolveQueueUrl(sqs, name), AttributeNames: ['All'] }),
    )
  ).Attributes ?? {};

describe('provisioning', () => {
  const desired = desiredQueues(['dev-orders', 'dev-refunds'], settings);

  it('plans each DLQ before its queue, creates them, and changes nothing the second time', async () => {
    expect(desired.map(({ name, role }) => `${role}:${name}`)).toEqual([
      'dead-letter:err-dev-orders',
      'queue:dev-orders',
      'dead-letter:err-dev-refunds',
      'queue:dev-refunds',
    ]);
    const plan = await planQueues(sqs, desired);
    expect(plan.map(({ action }) => action)).toEqual(['create', 'create', 'create', 'create']);
    const applied = await applyPlan(sqs, desired, plan, { tags: settings.tags });
    expect(applied.map(({ outcome }) => outcome)).toEqual(['created', 'created', 'created', 'created']);

    const orders = await attributes('dev-orders');
    expect(JSON.parse(orders.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 2 });
    expect(JSON.parse(orders.RedrivePolicy ?? '{}').deadLetterTargetArn).toMatch(/:err-dev-orders$/);
    expect(orders.VisibilityTimeout).toBe('30');
    expect((await attributes('err-dev-orders')).MessageRetentionPeriod).toBe('1209600');
    const { Tags } = await sqs.send(new ListQueueTagsCommand({ QueueUrl: await resolveQueueUrl(sqs, 'dev-orders') }));
    expect(Tags).toEqual(settings.tags);

    const again = await planQueues(sqs, desired);
    expect(again.map(({ action }) => action)).toEqual(['exists', 'exists', 'exists', 'exists']);
    expect((await applyPlan(sqs, desired, again)).map(({ outcome }) => outcome)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('makes queues of 1 MiB messages, and lets each DLQ redrive to its own queue only', async () => {
    for (const name of ['dev-orders', 'err-dev-orders']) {
      expect((await attributes(name)).MaximumMessageSize).toBe(String(1024 * 1024));
    }
    const allow = JSON.parse((await attributes('err-dev-orders')).RedriveAllowPolicy ?? '{}');
    expect(allow).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [(await attributes('dev-orders')).QueueArn],
    });
  });

  it('reports a queue of 256 KiB and a DLQ open to anyone as drift, and raises them with fix', async () => {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs, 'err-dev-refunds'),
        Attributes: { MaximumMessageSize: String(256 * 1024), RedriveAllowPolicy: '{"redrivePermission":"allowAll"}' },
      }),
    );
    const plan = await planQueues(sqs, desired);
    expect(plan[2]?.drift).toEqual([
      { attribute: 'MaximumMessageSize', actual: '262144', expected: '1048576' },
      {
        attribute: 'RedriveAllowPolicy',
        actual: 'redrive permission allowAll',
        expected: 'redrive to dev-refunds only',
      },
    ]);
    expect((await applyPlan(sqs, desired, plan, { fix: true }))[2]?.outcome).toBe('fixed');
    expect((await attributes('err-dev-refunds')).MaximumMessageSize).toBe('1048576');
    expect(JSON.parse((await attributes('err-dev-refunds')).RedriveAllowPolicy ?? '{}').sourceQueueArns).toEqual([
      (await attributes('dev-refunds')).QueueArn,
    ]);
    expect((await planQueues(sqs, desired)).every(({ action }) => action === 'exists')).toBe(true);
  });

  it('reports a hand-changed attribute as drift, field by field, and fixes it only when asked', async () => {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs, 'dev-refunds'),
        Attributes: { VisibilityTimeout: '99' },
      }),
    );
    const plan = await planQueues(sqs, desired);
    expect(plan[3]).toEqual({
      name: 'dev-refunds',
      role: 'queue',
      action: 'drift',
      drift: [{ attribute: 'VisibilityTimeout', actual: '99', expected: '30' }],
    });
    expect((await applyPlan(sqs, desired, plan))[3]?.outcome).toBe('drift');
    expect((await attributes('dev-refunds')).VisibilityTimeout).toBe('99');
    expect((await applyPlan(sqs, desired, plan, { fix: true }))[3]?.outcome).toBe('fixed');
    expect((await attributes('dev-refunds')).VisibilityTimeout).toBe('30');
    expect((await planQueues(sqs, desired)).every(({ action }) => action === 'exists')).toBe(true);
  });

  it('reports a redrive policy pointing elsewhere as drift', async () => {
    const url = await resolveQueueUrl(sqs, 'dev-orders');
    const policy = JSON.parse((await attributes('dev-orders')).RedrivePolicy ?? '{}');
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: { RedrivePolicy: JSON.stringify({ ...policy, maxReceiveCount: 9 }) },
      }),
    );
    const [, orders] = await planQueues(sqs, desired);
    expect(orders?.drift).toEqual([
      {
        attribute: 'RedrivePolicy',
        actual: 'err-dev-orders after 9 receives',
        expected: 'err-dev-orders after 2 receives',
      },
    ]);
  });

  it('pairs a FIFO queue with a FIFO dead-letter queue', async () => {
    const fifo = desiredQueues(['dev-ledger.fifo'], settings);
    await applyPlan(sqs, fifo, await planQueues(sqs, fifo));
    expect((await attributes('dev-ledger.fifo')).FifoQueue).toBe('true');
    expect((await attributes('err-dev-ledger.fifo')).FifoQueue).toBe('true');
    expect(JSON.parse((await attributes('dev-ledger.fifo')).RedrivePolicy ?? '{}').deadLetterTargetArn).toMatch(
      /:err-dev-ledger\.fifo$/,
    );
  });

  it('lets SQS move a message to the DLQ after maxReceiveCount receives', async () => {
    await applyPlan(sqs, desired, await planQueues(sqs, desired), { fix: true }); // undo the drift above
    const url = await resolveQueueUrl(sqs, 'dev-orders');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let receive = 1; receive <= settings.maxReceiveCount; receive++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
      expect(Messages.map(({ Body }) => Body)).toEqual(['poison']);
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: Messages[0]?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    const { Messages: none = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(none).toEqual([]);
    const dlq = await resolveQueueUrl(sqs, 'err-dev-orders');
    const { Messages: dead = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 1 }));
    expect(dead.map(({ Body }) => Body)).toEqual(['poison']);
  });
});

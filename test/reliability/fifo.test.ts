// SQS queues as they are today, against local-aws-sqs (AWS's FIFO batches: up to 10 messages of one
// group per receive, which fauxqs never returns; and message moves): FIFO order per group, fair
// queues, and dead letters moved back to their queue.
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { Producer } from '../../templates/worker/src/runtime/producer.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { waitFor } from '../support/process.ts';
import { depth, receiveAll, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { step } from '../support/tasks.ts';
import { killWorkers, MINUTE, ran, setUp, startWorkerProcess } from '../support/workers.ts';

let awsLike: SqsProcess;
let fauxqsProcess: SqsProcess | undefined;
const fauxqs = async () => {
  fauxqsProcess ??= await startSqsProcess();
  return fauxqsProcess;
};
beforeAll(async () => {
  awsLike = await startSqsProcess({ awsLike: true });
});
afterAll(async () => {
  await awsLike?.stop();
  await fauxqsProcess?.stop();
});
afterEach(killWorkers);

const GROUPS = ['a', 'b', 'c'];
const PER_GROUP = 50;

/** Sends `step` tasks: for each group, PER_GROUP in order, interleaved; `fails` names the steps that fail once. */
async function sendSteps(
  sqs: SqsProcess,
  queue: string,
  user: string,
  { fifo, fails = [] }: { fifo: boolean; fails?: string[] },
) {
  const full = fullQueueName(queue, { env: 'local', user });
  const url = await resolveQueueUrl(sqs.client, full);
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let index = 0; index < PER_GROUP; index++) {
    const entries: SendMessageBatchRequestEntry[] = GROUPS.map((group, offset) => ({
      Id: String(offset),
      MessageBody: encodeMessage({
        task: 'step',
        args: [group, index, Math.round(random() * 60), fails.includes(`${group} ${index}`)],
        queue: full,
      }),
      MessageGroupId: group,
      ...(fifo ? { MessageDeduplicationId: `${group}-${index}` } : {}),
    }));
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
}

/** Per group, the events of its steps in the order they happened. */
function byGroup(log: string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const line of log) {
    const [group = '', index, event] = line.split(' ');
    groups.set(group, [...(groups.get(group) ?? []), `${index} ${event}`]);
  }
  return groups;
}

/** Each step starts after the one before it ended, and in send order; a failing step runs again first. */
function expectInOrder(events: string[], failing: number[]) {
  const expected: string[] = [];
  for (let index = 0; index < PER_GROUP; index++) {
    expected.push(`${index} start`);
    if (failing.includes(index)) expected.push(`${index} fail`, `${index} start`);
    expected.push(`${index} end`);
  }
  expect(events).toEqual(expected);
}

/** Some step of one group ran while a step of another was running. */
function groupsOverlapped(log: string[]): boolean {
  const running = new Set<string>();
  for (const line of log) {
    const [group = '', , event] = line.split(' ');
    if (event === 'start') {
      if ([...running].some((other) => other !== group)) return true;
      running.add(group);
    } else running.delete(group);
  }
  return false;
}

const allDone = (runLog: string, count: number) => async () =>
  (await ran(runLog)).filter((line) => line.endsWith(' end')).length === count ? true : undefined;

describe('a FIFO queue', () => {
  // Two emulators, each AWS-like where the case needs it: local-aws-sqs returns up to 10 messages of
  // a group per receive, as AWS does (fauxqs returns one), but keeps giving a group's later messages
  // while earlier ones are in flight, which AWS never does (fauxqs doesn't either).
  it.each([
    ['one worker process, receiving several messages of a group at once', {}, 'local-aws-sqs'],
    ['two worker processes, a group locked while one of them holds it', { WORKER_PROCESSES: '2' }, 'fauxqs'],
  ])(
    'runs each group one step at a time, in send order, the groups side by side (%s)',
    async (_name, env, emulator) => {
      const sqs = emulator === 'fauxqs' ? await fauxqs() : awsLike;
      const user = `fifo${Object.keys(env).length}`;
      const RUN_LOG = await setUp(sqs, user, 30, 'steps.fifo');
      const target = { queue: 'steps.fifo', task: 'step' };
      await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_CONCURRENCY: '10', ...env }, target);
      await sendSteps(sqs, 'steps.fifo', user, { fifo: true, fails: ['b 10'] });
      await waitFor('every step to end', allDone(RUN_LOG, GROUPS.length * PER_GROUP), 2 * MINUTE);
      const log = (await ran(RUN_LOG)).map((line) => line.replace(/ start \d+$/, ' start'));
      const groups = byGroup(log);
      expectInOrder(groups.get('a') ?? [], []);
      expectInOrder(groups.get('b') ?? [], [10]);
      expectInOrder(groups.get('c') ?? [], []);
      expect(groupsOverlapped(log)).toBe(true);
      // The retry ran in place, as retry 1: the message was not sent again to the end of its group.
      expect(await ran(RUN_LOG)).toContain('b 10 start 1');
      await waitFor('an empty queue', async () =>
        (await depth(sqs, `${user}-local-steps.fifo`)) === 0 ? true : undefined,
      );
    },
    3 * MINUTE,
  );
});

describe('a fair queue (a standard queue with message groups)', () => {
  it('gets its tenant from sendTask(…, { group })', async () => {
    const sqs = awsLike;
    await setUp(sqs, 'tenant', 30, 'steps');
    const producer = new Producer(sqs.client, [{ queue: 'steps', task: 'step' }], { env: 'local', user: 'tenant' });
    await producer.send(step, ['t', 0, 0, false], { group: 'customer-42' });
    const [message] = await receiveAll(sqs, 'tenant-local-steps', 1);
    expect(message?.Attributes?.MessageGroupId).toBe('customer-42');
  });

  it(
    'runs the steps of each group concurrently, in no particular order',
    async () => {
      const sqs = awsLike;
      const RUN_LOG = await setUp(sqs, 'fair', 30, 'steps');
      const target = { queue: 'steps', task: 'step' };
      await startWorkerProcess(sqs, 'fair', { RUN_LOG, WORKER_CONCURRENCY: '10' }, target);
      await sendSteps(sqs, 'steps', 'fair', { fifo: false });
      await waitFor('every step to end', allDone(RUN_LOG, GROUPS.length * PER_GROUP), 2 * MINUTE);
      // Some group had two steps running at once: nothing serialises a standard queue's groups.
      const log = await ran(RUN_LOG);
      const concurrentInGroup = GROUPS.some((group) => {
        let running = 0;
        for (const line of log.filter((entry) => entry.startsWith(`${group} `))) {
          running += line.includes(' start') ? 1 : -1;
          if (running > 1) return true;
        }
        return false;
      });
      expect(concurrentInGroup).toBe(true);
    },
    3 * MINUTE,
  );
});

describe('a dead letter', () => {
  it(
    'is moved back to its queue by StartMessageMoveTask given the queue, which its DLQ allows',
    async () => {
      const sqs = awsLike;
      const RUN_LOG = await setUp(sqs, 'redrive', 30, 'steps');
      const queue = 'redrive-local-steps';
      // A worker with a bug dead-letters the step, with its reason.
      const broken = await startWorkerProcess(
        sqs,
        'redrive',
        { RUN_LOG, STEPS_BROKEN: '1' },
        { queue: 'steps', task: 'step' },
      );
      const body = encodeMessage({ task: 'step', args: ['redrive', 0, 0, false], queue, id: 'moved' });
      await sqs.client.send(
        new SendMessageCommand({ QueueUrl: await resolveQueueUrl(sqs.client, queue), MessageBody: body }),
      );
      await waitFor('the dead letter', async () => ((await depth(sqs, `err-${queue}`)) === 1 ? true : undefined));
      broken.process.kill('SIGTERM');
      await broken.process;

      const arn = async (name: string) =>
        (
          await sqs.client.send(
            new GetQueueAttributesCommand({
              QueueUrl: await resolveQueueUrl(sqs.client, name),
              AttributeNames: ['QueueArn'],
            }),
          )
        ).Attributes?.QueueArn;
      const moves = async () =>
        (await sqs.client.send(new ListMessageMoveTasksCommand({ SourceArn: await arn(`err-${queue}`) }))).Results ??
        [];
      // SQS knows the source only of the messages it dead-lettered itself (its redrive policy); the
      // worker's dead letters name theirs in `source_queue`, and the move must be told it.
      await sqs.client.send(
        new StartMessageMoveTaskCommand({ SourceArn: await arn(`err-${queue}`), DestinationArn: await arn(queue) }),
      );
      await waitFor('the move to complete', async () =>
        (await moves())[0]?.Status === 'COMPLETED' ? true : undefined,
      );
      expect((await moves())[0]?.DestinationArn).toBe(await arn(queue));
      expect(await depth(sqs, `err-${queue}`)).toBe(0);
      // (local-aws-sqs counts the moved message in the queue, but does not hand it out again: that
      // it then runs is shown by \`be-worker dlq redrive\`, which moves messages itself.)
      expect(await depth(sqs, queue)).toBeGreaterThanOrEqual(1);
    },
    MINUTE,
  );
});

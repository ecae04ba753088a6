// `be-worker dlq` as an operator runs it, on dead letters a real worker made: against local-aws-sqs,
// which has SQS's message moves (StartMessageMoveTask), and against fauxqs, which has not (so the
// redrive moves the messages itself, batch by batch).
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterSummary, PeekReport, RedriveReport } from '../../src/dlq/index.ts';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { startFaultyNetwork } from '../support/faulty-network.ts';
import { CLI, REPO, tempDir, waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { killTerminals, spawnInTerminal } from '../support/terminal.ts';
import { killWorkers, MINUTE, ran, sendTasks, setUp, startWorkerProcess } from '../support/workers.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const USER = 'ops';
const STEPS = fullQueueName('steps', { env: 'local', user: USER });
const NAPS = fullQueueName('naps', { env: 'local', user: USER });
let worker: string;

beforeAll(async () => {
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', USER, '--queue', 'steps:step', '--queue', 'naps:nap', '--no-install', '--no-git'],
    { cwd },
  );
  worker = join(cwd, 'shop');
});
afterEach(async () => {
  killTerminals();
  await killWorkers();
});

/** be-worker in the worker, on `sqs`, without a terminal. */
function beWorker(sqs: { endpoint: string }, ...args: string[]) {
  return execa('node', [BE_WORKER, ...args, '--endpoint', sqs.endpoint, '--region', 'us-east-1'], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
  });
}

async function json<T>(sqs: SqsProcess, ...args: string[]): Promise<T> {
  const result = await beWorker(sqs, ...args, '--json');
  expect(result.exitCode, result.all).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/**
 * 30 dead letters of 3 kinds, made by a worker with a bug (test/support/tasks.ts, STEPS_BROKEN):
 * 10 `step` that fail for good (NonRetryableError), 10 `doomed` that fail their 3 runs (Error,
 * retries 2), 10 of a task it does not have (UnknownTaskError). Returns the run log.
 */
async function deadLetterThirty(sqs: SqsProcess): Promise<string> {
  const runLog = await setUp(sqs, USER, 30, 'steps');
  await createQueues(sqs, [NAPS]);
  const target = { queue: 'steps', task: 'step' };
  const broken = await startWorkerProcess(sqs, USER, { RUN_LOG: runLog, STEPS_BROKEN: '1' }, target);
  const tenOf = (args: (index: number) => unknown[]) => Array.from({ length: 10 }, (_, index) => args(index));
  await sendTasks(
    sqs,
    USER,
    tenOf((index) => ['s', index, 0, false]),
    target,
  );
  await sendTasks(
    sqs,
    USER,
    tenOf((index) => [`why ${index}`]),
    { queue: 'steps', task: 'doomed' },
  );
  await sendTasks(
    sqs,
    USER,
    tenOf((index) => [index]),
    { queue: 'steps', task: 'ghost' },
  );
  await waitFor('30 dead letters', async () => ((await depth(sqs, `err-${STEPS}`)) === 30 ? true : undefined), MINUTE);
  // Its stop lets its last long poll finish: none is left open at SQS to take (and hide for 30 s) a
  // message redriven once it has exited.
  broken.process.kill('SIGTERM');
  await broken.process;
  return runLog;
}

/** `count` dead letters of `nap` put straight into err-<naps>, as the worker writes them. */
async function deadLetterNaps(sqs: SqsProcess, count: number): Promise<void> {
  const url = await resolveQueueUrl(sqs.client, `err-${NAPS}`);
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  const ids = Array.from({ length: count }, (_, index) => `nap-${index}`);
  for (let start = 0; start < count; start += 10) {
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ids.slice(start, start + 10).map((id, index) => ({
          Id: String(index),
          MessageBody: encodeMessage({ task: 'nap', args: [index], queue: NAPS, id }),
          MessageAttributes: { error_type: text('Error'), task: text('nap'), source_queue: text(NAPS) },
        })),
      }),
    );
  }
}

const visible = async (sqs: SqsProcess, queue: string) =>
  Number(
    (
      await sqs.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: await resolveQueueUrl(sqs.client, queue),
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      )
    ).Attributes?.ApproximateNumberOfMessages,
  );

const arn = async (sqs: SqsProcess, queue: string) =>
  (
    await sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, queue),
        AttributeNames: ['QueueArn'],
      }),
    )
  ).Attributes?.QueueArn;

async function expectGrouped(sqs: SqsProcess) {
  const report = await json<{ queues: DeadLetterSummary[] }>(sqs, 'dlq', 'ls', 'steps');
  expect(report.queues).toEqual([
    {
      queue: 'steps',
      deadLetterQueue: `err-${STEPS}`,
      messages: 30,
      read: 30,
      groups: [
        { errorType: 'Error', task: 'doomed', count: 10 },
        { errorType: 'NonRetryableError', task: 'step', count: 10 },
        { errorType: 'UnknownTaskError', task: 'ghost', count: 10 },
      ],
    },
  ]);
  const table = await beWorker(sqs, 'dlq', 'ls');
  expect(table.stdout).toMatch(new RegExp(`err-${STEPS}: 30 message\\(s\\)\\n.*REASON +TASK +COUNT`));
  expect(table.stdout).toMatch(/NonRetryableError +step +10/);
  expect(table.stdout).toContain(`err-${NAPS}: 0 message(s)`);
}

async function expectPeeked(sqs: SqsProcess) {
  const report = await json<PeekReport>(sqs, 'dlq', 'peek', `err-${STEPS}`, '-n', '30');
  expect(report.messages).toBe(30);
  expect(report.letters).toHaveLength(30);
  const step = report.letters.find((letter) => letter.task === 'step');
  expect(step).toMatchObject({
    args: ['s', expect.any(Number), 0, false],
    kwargs: {},
    retries: 0,
    errorType: 'NonRetryableError',
    errorMessage: expect.stringMatching(/^step s \d+: broken$/),
    sourceQueue: STEPS,
    receiveCount: 1,
  });
  expect(Date.parse(step?.deadLetteredAt ?? '')).toBeGreaterThan(Date.now() - 5 * MINUTE);
  expect(report.letters.find((letter) => letter.task === 'doomed')).toMatchObject({ errorType: 'Error', retries: 2 });
  // Nothing taken, nothing hidden: all 30 visible at once.
  expect(await visible(sqs, `err-${STEPS}`)).toBe(30);
  const table = await beWorker(sqs, 'dlq', 'peek', 'steps', '-n', '30');
  expect(table.stdout).toMatch(
    /ghost {2}id \S+ {2}retries 0 {2}received 1× {2}dead-lettered \S+\n {2}args \[\d\] {2}kwargs \{\}/,
  );
}

/** `--task step` moves the 10 steps, which a worker without the bug then runs; the 20 others stay. */
async function expectStepsRedriven(sqs: SqsProcess, runLog: string) {
  const dry = await json<RedriveReport>(sqs, 'dlq', 'redrive', 'steps', '--task', 'step', '--dry-run');
  expect(dry.wouldMove).toEqual([{ task: 'step', count: 10 }]);
  expect(await visible(sqs, `err-${STEPS}`)).toBe(30);

  const result = await beWorker(sqs, 'dlq', 'redrive', 'steps', '--task', 'step');
  expect(result.exitCode, result.all).toBe(0);
  expect(result.stdout).toContain(
    `Moved 10 message(s) (task step) from err-${STEPS} to ${STEPS}, batch by batch; 20 of other tasks stay`,
  );
  await startWorkerProcess(sqs, USER, { RUN_LOG: runLog }, { queue: 'steps', task: 'step' });
  const ends = async () => (await ran(runLog)).filter((line) => line.endsWith(' end'));
  await waitFor('the 10 steps to run', async () => ((await ends()).length === 10 ? true : undefined), MINUTE);
  // Each from its first try: a redriven message starts its retries afresh.
  expect((await ran(runLog)).filter((line) => line.includes(' start ')).every((line) => line.endsWith(' 0'))).toBe(
    true,
  );
  const left = await json<{ queues: DeadLetterSummary[] }>(sqs, 'dlq', 'ls', 'steps');
  expect(left.queues[0]?.groups.map(({ task, count }) => `${task} ${count}`).sort()).toEqual(['doomed 10', 'ghost 10']);
}

describe('be-worker dlq against local-aws-sqs (message moves)', () => {
  let sqs: SqsProcess;
  let runLog: string;
  beforeAll(async () => {
    sqs = await startSqsProcess({ awsLike: true });
    runLog = await deadLetterThirty(sqs);
  }, 2 * MINUTE);
  afterAll(async () => sqs?.stop());

  it('says where it is: the local SQS, which has no STS', async () => {
    const result = await beWorker(sqs, 'dlq', 'ls');
    expect(result.stdout.split('\n')[0]).toBe(
      `local SQS at ${sqs.endpoint} (no STS there), region us-east-1, env "local"`,
    );
  });

  it('ls groups the 30 by reason and task', () => expectGrouped(sqs));

  it('peek decodes them, with their reasons, and leaves every one in place', () => expectPeeked(sqs));

  it('redrive --task step moves only those, and the worker runs them', () => expectStepsRedriven(sqs, runLog), MINUTE);

  it('redrive without a filter starts a message move to the queue and follows it until the DLQ is empty', async () => {
    const report = await json<RedriveReport>(sqs, 'dlq', 'redrive', 'steps');
    expect(report).toMatchObject({ method: 'move-task', moved: 20, moveTask: { status: 'COMPLETED' } });
    expect(await depth(sqs, `err-${STEPS}`)).toBe(0);
    const { Results = [] } = await sqs.client.send(
      new ListMessageMoveTasksCommand({ SourceArn: await arn(sqs, `err-${STEPS}`) }),
    );
    expect(Results[0]).toMatchObject({ DestinationArn: await arn(sqs, STEPS), ApproximateNumberOfMessagesMoved: 20 });
    // local-aws-sqs counts what it moved in the queue but never hands it out again, so that the
    // moved messages run is shown by the batch redrive (above, and against fauxqs).
    expect(await depth(sqs, STEPS)).toBeGreaterThanOrEqual(20);
  });

  it('shows the progress of the move in a terminal, and Ctrl-C cancels it: what moved stays moved, the rest stays', async () => {
    await deadLetterNaps(sqs, 30);
    const args = ['dlq', 'redrive', 'naps', '--rate', '2', '--endpoint', sqs.endpoint, '--region', 'us-east-1'];
    const cli = spawnInTerminal(BE_WORKER, args, worker, { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' });
    await cli.waitFor(/\[█+░+\] [1-9]\d*\/30 moved/);
    cli.write('\x03');
    expect(await cli.exited, cli.screen()).toBe(130);
    const moved = Number(/Cancelled: (\d+) message\(s\) moved to/.exec(cli.screen())?.[1]);
    expect(moved).toBeGreaterThanOrEqual(1);
    expect(moved).toBeLessThan(30);
    const { Results = [] } = await sqs.client.send(
      new ListMessageMoveTasksCommand({ SourceArn: await arn(sqs, `err-${NAPS}`) }),
    );
    expect(Results[0]?.Status).toMatch(/^CANCELL(ING|ED)$/);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Stopped: nothing moves after the cancel, and nothing is lost.
    const [left, there] = [await depth(sqs, `err-${NAPS}`), await depth(sqs, NAPS)];
    expect(left).toBeGreaterThan(0);
    expect(left + there).toBe(30);
  });
});

describe('be-worker dlq against fauxqs (no message moves)', () => {
  let sqs: SqsProcess;
  let runLog: string;
  beforeAll(async () => {
    sqs = await startSqsProcess();
    runLog = await deadLetterThirty(sqs);
  }, 2 * MINUTE);
  afterAll(async () => sqs?.stop());

  it('ls groups the 30 by reason and task', () => expectGrouped(sqs));

  it('peek decodes them, with their reasons, and leaves every one in place', () => expectPeeked(sqs));

  it('redrive --task step moves only those, and the worker runs them', () => expectStepsRedriven(sqs, runLog), MINUTE);

  it('redrive without a filter falls back to moving batch by batch, and says so', async () => {
    const result = await beWorker(sqs, 'dlq', 'redrive', 'steps');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stderr).toContain(
      'This SQS has no message moves (StartMessageMoveTask); moving the messages batch by batch instead.',
    );
    expect(result.stdout).toContain(`Moved 20 message(s) (all) from err-${STEPS} to ${STEPS}, batch by batch.`);
    expect(await depth(sqs, `err-${STEPS}`)).toBe(0);
    expect(await depth(sqs, STEPS)).toBe(20);
  });

  it('a redrive killed mid-way (SIGKILL) loses no message', async () => {
    await deadLetterNaps(sqs, 60);
    // Killed with a batch in hand: two batches moved, the third sent and its delete not yet done.
    const network = await startFaultyNetwork(sqs.endpoint);
    network.hold(['SendMessageBatch', 'DeleteMessageBatch'], 5);
    const redrive = beWorker({ endpoint: network.endpoint }, 'dlq', 'redrive', 'naps');
    await waitFor('the redrive to reach its sixth write', async () => (network.counts().held > 0 ? true : undefined));
    redrive.kill('SIGKILL');
    await redrive;
    await network.close();
    const [left, there] = [await depth(sqs, `err-${NAPS}`), await depth(sqs, NAPS)];
    expect(there).toBe(30);
    // At least once: the batch sent and not deleted is in both queues; none is in neither.
    expect(left).toBe(40);
  });

  it('purge refuses without a terminal and without --yes, and empties the DLQ with --yes', async () => {
    const before = await depth(sqs, `err-${NAPS}`);
    expect(before).toBeGreaterThan(0);
    const refused = await beWorker(sqs, 'dlq', 'purge', 'naps');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `✖ purge would delete the ${before} message(s) of err-${NAPS} in env "local"; pass --yes to do it without a terminal`,
    );
    expect(await depth(sqs, `err-${NAPS}`)).toBe(before);
    const purged = await beWorker(sqs, 'dlq', 'purge', 'naps', '--yes');
    expect(purged.exitCode, purged.all).toBe(0);
    await waitFor('the DLQ to be empty', async () => ((await depth(sqs, `err-${NAPS}`)) === 0 ? true : undefined));
  });

  it('purge in a terminal asks, showing the count and the env: no keeps them, yes purges', async () => {
    await deadLetterNaps(sqs, 3);
    const args = ['dlq', 'purge', 'naps', '--endpoint', sqs.endpoint, '--region', 'us-east-1'];
    const question = `Delete the 3 message(s) of err-${NAPS} in env "local" for good?`;
    const declined = spawnInTerminal(BE_WORKER, args, worker, { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' });
    await declined.waitFor(question);
    expect(declined.screen()).toContain('AWS account 000000000000');
    declined.write('n');
    expect(await declined.exited, declined.screen()).toBe(130);
    expect(await depth(sqs, `err-${NAPS}`)).toBe(3);
    const accepted = spawnInTerminal(BE_WORKER, args, worker, { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' });
    await accepted.waitFor(question);
    accepted.write('y');
    expect(await accepted.exited, accepted.screen()).toBe(0);
    await waitFor('the DLQ to be empty', async () => ((await depth(sqs, `err-${NAPS}`)) === 0 ? true : undefined));
  });

  it('redrive in a shared env needs --yes without a terminal, and moves nothing without it', async () => {
    await createQueues(sqs, ['prod-naps']);
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, 'err-prod-naps'),
        Entries: [{ Id: '0', MessageBody: encodeMessage({ task: 'nap', args: [0], queue: 'prod-naps' }) }],
      }),
    );
    const refused = await beWorker(sqs, 'dlq', 'redrive', 'naps', '--env', 'prod');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      '✖ redrive would move the 1 message(s) of err-prod-naps to prod-naps in env "prod" of AWS account 000000000000; pass --yes',
    );
    expect(await depth(sqs, 'err-prod-naps')).toBe(1);
    const moved = await beWorker(sqs, 'dlq', 'redrive', 'naps', '--env', 'prod', '--yes');
    expect(moved.exitCode, moved.all).toBe(0);
    expect(await depth(sqs, 'prod-naps')).toBe(1);
  });

  it(
    'a redrive while the cause is not fixed ends: what fails again stays in the DLQ, never goes round',
    async () => {
      // The 20 moved back by the redrive above fail again on a worker still without a fix.
      const running = await startWorkerProcess(sqs, USER, { RUN_LOG: runLog }, { queue: 'steps', task: 'step' });
      await waitFor(
        '20 dead letters again',
        async () => ((await depth(sqs, `err-${STEPS}`)) === 20 && (await depth(sqs, STEPS)) === 0 ? true : undefined),
        MINUTE,
      );
      // Slow enough that the worker dead-letters some again while the redrive still runs.
      const report = await json<RedriveReport>(sqs, 'dlq', 'redrive', 'steps', '--rate', '4');
      expect(report.moved).toBe(20);
      await waitFor(
        'all 20 back in the DLQ',
        async () => ((await depth(sqs, `err-${STEPS}`)) === 20 && (await depth(sqs, STEPS)) === 0 ? true : undefined),
        MINUTE,
      );
      running.process.kill('SIGTERM');
    },
    2 * MINUTE,
  );

  it('refuses a queue the worker does not have, naming the ones it has', async () => {
    const result = await beWorker(sqs, 'dlq', 'peek', 'orders');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(
      `✖ This worker has no queue "orders" in env "local"; its queues are: steps (${STEPS}), naps (${NAPS}).`,
    );
  });
});

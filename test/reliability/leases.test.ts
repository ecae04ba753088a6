// Leases against worker processes and a local SQS (fauxqs) in another: kept on queues whose
// visibility timeout is not a multiple of 3 s, and given up — never counted done — when the whole
// process was paused past it (SIGSTOP, as a frozen container or VM), since SQS then hands the
// message to another receiver. Every test waits for states (a metric, the run log), never on a clock alone.
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { waitFor } from '../support/process.ts';
import { depth, remove, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { killWorkers, MINUTE, ran, sendNaps, setUp, startWorkerProcess } from '../support/workers.ts';

let sqs: SqsProcess;
beforeAll(async () => {
  sqs = await startSqsProcess();
});
afterAll(async () => {
  await sqs?.stop();
});
afterEach(killWorkers);

describe('a queue whose visibility timeout is not a multiple of 3 s', () => {
  it.each([7, 10])(
    'keeps every lease at %i s: tasks longer than it run exactly once, and no other worker gets them',
    async (seconds) => {
      const user = `odd${seconds}`;
      const RUN_LOG = await setUp(sqs, user, seconds);
      const worker = await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_CONCURRENCY: '3' });
      const ids = await sendNaps(sqs, user, [seconds * 2000, seconds * 2000, seconds * 2000]);
      // A second worker on the queue runs whatever becomes visible again.
      const other = await startWorkerProcess(sqs, user, { RUN_LOG });
      await waitFor('the three to run', async () => ((await ran(RUN_LOG)).length >= 3 ? true : undefined), 2 * MINUTE);
      await waitFor('the queue to be empty', async () =>
        (await depth(sqs, `${user}-local-naps`)) === 0 ? true : undefined,
      );
      expect((await ran(RUN_LOG)).sort()).toEqual([...ids].sort());
      expect(await other.metric('received', 'consumer')).toBe(0);
      expect(await worker.metric('lease_lost', 'consumer')).toBe(0);
      expect(await depth(sqs, `err-${user}-local-naps`)).toBe(0);
    },
    3 * MINUTE,
  );
});

describe('a worker paused past the visibility timeout', () => {
  it(
    'counts the leases lost in the pause, logs it, and does not delete the messages another receiver got',
    async () => {
      const user = 'paused';
      const RUN_LOG = await setUp(sqs, user, 3);
      const worker = await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_CONCURRENCY: '4' });
      let output = '';
      worker.process.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await sendNaps(sqs, user, [4000, 4000, 4000]);
      await waitFor('the three to start', async () => ((await worker.metric('started')) >= 3 ? true : undefined));
      const pid = worker.process.pid ?? 0;
      process.kill(pid, 'SIGSTOP');
      // Another receiver takes them once their visibility timeout passes, for longer than the test.
      const url = await resolveQueueUrl(sqs.client, fullQueueName('naps', { env: 'local', user }));
      const taken: Message[] = [];
      try {
        await waitFor(
          'the messages to be delivered to another receiver',
          async () => {
            const { Messages = [] } = await sqs.client.send(
              new ReceiveMessageCommand({
                QueueUrl: url,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 1,
                VisibilityTimeout: 600,
              }),
            );
            taken.push(...Messages);
            return taken.length >= 3 ? true : undefined;
          },
          MINUTE,
        );
        // Paused past the naps' end too: their timers are due the moment it resumes, as the keeper's are.
        await new Promise((resolve) => setTimeout(resolve, 4000));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitFor('the naps to end', async () => ((await ran(RUN_LOG)).length >= 3 ? true : undefined), MINUTE);
      await waitFor('three leases lost', async () =>
        (await worker.metric('lease_lost', 'consumer')) >= 3 ? true : undefined,
      );
      expect(await worker.metric('lease_lost', 'consumer')).toBe(3);
      expect(await worker.metric('deleted', 'consumer')).toBe(0);
      expect(await worker.metric('succeeded')).toBe(0);
      // The other receiver's messages are still there: the paused worker did not delete them.
      expect(await depth(sqs, `${user}-local-naps`)).toBe(3);
      expect(output).toMatch(/"leases":3\b.*message leases expired while this process did not run/);
      await remove(sqs, `${user}-local-naps`, taken);
    },
    3 * MINUTE,
  );
});

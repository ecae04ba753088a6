// Queue depths from SQS into the metrics: what the dashboard's queue panels and the DLQ alert read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchQueueDepth } from '../../templates/worker/src/runtime/depth.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { resolveQueues } from '../../templates/worker/src/runtime/queues.ts';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

let sqs: SqsProcess;
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
  await createQueues(sqs, ['d-local-depth']);
});
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});

const gauge = async (metrics: ReturnType<typeof createMetrics>, queue: string, kind = 'visible') =>
  (await metrics.queueMessages.get()).values.find(({ labels }) => labels.queue === queue && labels.kind === kind)
    ?.value;

describe('watchQueueDepth', () => {
  it('reads each queue and its DLQ into <prefix>_queue_messages, and counts the reads that fail', async () => {
    for (let i = 0; i < 7; i++) await send(sqs, 'd-local-depth', `m${i}`);
    for (let i = 0; i < 2; i++) await send(sqs, 'err-d-local-depth', `d${i}`);
    const client = createSqsClient({ region: 'us-east-1', endpoint: network.endpoint });
    const queues = await resolveQueues(client, [{ queue: 'depth', task: 'nap' }], { env: 'local', user: 'd' });
    const metrics = createMetrics('depth', { defaultMetrics: false });
    const stop = watchQueueDepth({
      sqs: client,
      queues,
      metrics,
      log: createLogger('depth', 'silent'),
      intervalSeconds: 0.5,
    });
    try {
      await waitFor('the depths', async () =>
        (await gauge(metrics, 'depth')) === 7 && (await gauge(metrics, 'err-depth')) === 2 ? true : undefined,
      );
      expect(await gauge(metrics, 'depth', 'in_flight')).toBe(0);
      expect(await gauge(metrics, 'depth', 'delayed')).toBe(0);

      // SQS gone: the gauges keep their last values, each failed read is counted, nothing throws.
      await network.set('refuse');
      await send(sqs, 'd-local-depth', 'one more');
      await waitFor('failed reads', async () => {
        const { values } = await metrics.queueDepthErrors.get();
        return values.some(({ labels, value }) => labels.queue === 'depth' && value >= 2) ? true : undefined;
      });
      expect(await gauge(metrics, 'depth')).toBe(7);
      await network.set('pass');
      await waitFor('the new depth', async () => ((await gauge(metrics, 'depth')) === 8 ? true : undefined));
    } finally {
      stop();
      client.destroy();
    }
  });
});

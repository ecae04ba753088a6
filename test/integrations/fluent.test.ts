// The fluent integration against a local receiver of fluentd's forward protocol (msgpack over
// TCP), and with nothing listening at all.
import { createServer, type Server } from 'node:net';
import { decodeMultiStream } from '@msgpack/msgpack';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { freePort, waitFor } from '../support/process.ts';
import { count, generated, startTestWorker } from './support.ts';

/** templates/integrations/fluent/files/src/integrations/fluent.ts, as generated. */
type FluentModule = { fluent(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks> };

const received: { tag: string; record: Record<string, unknown> }[] = [];
let receiver: Server;
let receiverPort: number;
let sqsServer: FauxqsServer;

beforeAll(async () => {
  receiver = createServer(async (socket) => {
    // Message mode: [tag, time, record] per event.
    for await (const message of decodeMultiStream(socket)) {
      const [tag, , record] = message as [string, unknown, Record<string, unknown>];
      received.push({ tag, record });
    }
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverPort = typeof address === 'object' && address ? address.port : 0;
  sqsServer = await startFauxqs({ port: 0, logger: false });
});

afterAll(async () => {
  receiver?.close();
  await sqsServer?.stop();
});

const job = defineTask({ name: 'job', args: z.tuple([z.number()]), run: ([n]) => n * 2 });

async function runWith(config: Record<string, unknown>, user: string, logLevel = 'silent') {
  const { fluent } = await generated<FluentModule>('src/integrations/fluent.ts');
  return startTestWorker({
    endpoint: sqsServer.address,
    name: 'shipped',
    user,
    queues: [{ queue: 'jobs', task: 'job' }],
    tasks: [job],
    integration: (context) => fluent(config, context),
    logLevel,
  });
}

describe('fluent', () => {
  it('sends every task state change to fluentd, tagged', async () => {
    const { stop, metrics, producer } = await runWith(
      { FLUENT_HOST: '127.0.0.1', FLUENT_PORT: receiverPort, FLUENT_TAG: 'td.shop' },
      'fl',
    );
    try {
      const { id } = await producer.send(job, [21]);
      await waitFor('the task', async () => ((await count(metrics, { state: 'succeeded' })) === 1 ? true : undefined));
      await waitFor('two events', async () => (received.length >= 2 ? true : undefined));
      expect(received.map(({ tag, record }) => [tag, record.state, record.task_id, record.worker])).toEqual([
        ['td.shop.task', 'started', id, 'shipped'],
        ['td.shop.task', 'succeeded', id, 'shipped'],
      ]);
    } finally {
      await stop();
    }
  });

  it('ships the log lines too with FLUENT_LOGS=true', async () => {
    const config = { FLUENT_HOST: '127.0.0.1', FLUENT_PORT: receiverPort, FLUENT_TAG: 'td.logs', FLUENT_LOGS: 'true' };
    const { stop } = await runWith(config, 'fllogs', 'info');
    try {
      const line = await waitFor('the start-up log line', async () =>
        received.find(
          ({ tag, record }) =>
            tag === 'td.logs.log' && record.msg === 'worker started' && String(record.queues).includes('fllogs-'),
        ),
      );
      // The log line as pino wrote it, its level and time included.
      expect(line.record).toMatchObject({ level: 30, worker: 'shipped', queues: ['fllogs-local-jobs'] });
      expect(typeof line.record.time).toBe('number');
    } finally {
      await stop();
    }
  });

  it('goes on processing tasks when no fluentd listens', async () => {
    const { stop, metrics, producer } = await runWith(
      { FLUENT_HOST: '127.0.0.1', FLUENT_PORT: await freePort() },
      'nofl',
    );
    try {
      for (let n = 0; n < 5; n++) await producer.send(job, [n]);
      await waitFor('five tasks', async () =>
        (await count(metrics, { state: 'succeeded' })) === 5 ? true : undefined,
      );
      expect(await count(metrics, { state: 'failed' })).toBe(0);
      expect(received.some(({ record }) => record.worker === 'nofl')).toBe(false);
    } finally {
      // Ending a sender that never connected waits on its timeout: do not wait for it.
      await Promise.race([stop(), new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
  });
});

// The sentry integration against a local endpoint standing in for the DSN's host: exactly one
// event per failed run, with the tags, the dead-lettering one marked; and no trace headers on the
// HTTP requests the worker makes.
import { get, type IncomingHttpHeaders, type Server } from 'node:http';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startStub, waitFor } from '../support/process.ts';
import { count, generated, startTestWorker } from './support.ts';

/** templates/integrations/sentry/files/src/integrations/sentry.ts, as generated. */
type SentryModule = { sentry(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks> };

const events: { tags: Record<string, string>; exception?: { values: { value: string }[] } }[] = [];
let ingest: Server;
let dsn: string;
let sqsServer: FauxqsServer;

beforeAll(async () => {
  let url: string;
  ({ server: ingest, url } = await startStub(({ body }) => {
    // An envelope: a header line, then item header and payload lines.
    const lines = body.split('\n').filter(Boolean);
    for (let index = 1; index + 1 < lines.length; index += 2) {
      if (JSON.parse(lines[index] ?? '{}').type === 'event') events.push(JSON.parse(lines[index + 1] ?? '{}'));
    }
    return {};
  }));
  dsn = `${url.replace('http://', 'http://publickey@')}/42`;
  sqsServer = await startFauxqs({ port: 0, logger: false });
});

afterAll(async () => {
  ingest?.close();
  await sqsServer?.stop();
});

describe('sentry', () => {
  it('captures each failed run once, tagged, and marks the one that dead-letters the task', async () => {
    const { sentry } = await generated<SentryModule>('src/integrations/sentry.ts');
    const charge = defineTask({
      name: 'charge',
      args: z.tuple([]),
      retry: { maxRetries: 1, backoff: 'fixed', baseSeconds: 0, jitter: false },
      run: () => {
        throw new Error('card declined');
      },
    });
    const fine = defineTask({ name: 'fine', args: z.tuple([]), run: () => 'ok' });
    const { metrics, producer, hooks, stop } = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'errors',
      queues: [
        { queue: 'payments', task: 'charge' },
        { queue: 'fine', task: 'fine' },
      ],
      tasks: [charge, fine],
      integration: (context) => sentry({ SENTRY_DSN: dsn, APP_ENV: 'test' }, context),
    });
    try {
      await producer.send(fine, []);
      const { id } = await producer.send(charge, []);
      await waitFor('the dead letter', async () =>
        (await count(metrics, { name: 'charge', state: 'dead_lettered' })) === 1 ? true : undefined,
      );
      await hooks.close?.();
      expect(events).toHaveLength(2);
      const tags = events.map(({ tags: { message_id, ...rest } }) => ({ ...rest, message_id: Boolean(message_id) }));
      expect(tags).toEqual([
        { task: 'charge', queue: 'payments', task_id: id, retries: '0', dead_lettered: 'false', message_id: true },
        { task: 'charge', queue: 'payments', task_id: id, retries: '1', dead_lettered: 'true', message_id: true },
      ]);
      // Each run is its own SQS message: the retry is a new one.
      expect(events[0]?.tags.message_id).not.toBe(events[1]?.tags.message_id);
      expect(events[0]?.exception?.values[0]?.value).toBe('card declined');
    } finally {
      await stop();
    }
  }, 60_000);

  it('adds no trace headers (sentry-trace, baggage) to the HTTP requests a task makes', async () => {
    const { sentry } = await generated<SentryModule>('src/integrations/sentry.ts');
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const { server: api, url } = await startStub(({ url: path, headers }) => {
      seen.push({ url: path, headers });
      return { json: { ok: true } };
    });
    const call = defineTask({
      name: 'call',
      args: z.tuple([]),
      async run() {
        await (await fetch(`${url}/with-fetch`)).json();
        await new Promise<void>((resolve, reject) =>
          get(`${url}/with-http`, (response) => response.resume().on('end', resolve)).on('error', reject),
        );
        return 'called';
      },
    });
    const { metrics, producer, stop } = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'calls',
      queues: [{ queue: 'calls', task: 'call' }],
      tasks: [call],
      integration: (context) => sentry({ SENTRY_DSN: dsn, APP_ENV: 'test' }, context),
    });
    try {
      await producer.send(call, []);
      await waitFor('the task', async () =>
        (await count(metrics, { name: 'call', state: 'succeeded' })) === 1 ? true : undefined,
      );
      expect(seen.map(({ url: path }) => path)).toEqual(['/with-fetch', '/with-http']);
      for (const { url: path, headers } of seen) {
        expect(headers, path).not.toHaveProperty('sentry-trace');
        expect(headers, path).not.toHaveProperty('baggage');
        expect(headers, path).not.toHaveProperty('traceparent');
      }
    } finally {
      await stop();
      api.close();
    }
  }, 60_000);
});

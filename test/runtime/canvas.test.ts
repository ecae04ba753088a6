// Celery's canvas, decided without SQS: what a finished task sends next, where, and what the
// TypeScript producer sends — each checked against what Celery 5.2's own worker and producer sent
// (test/fixtures/celery-canvas/, made by make_fixtures.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  afterSuccess,
  buildRoutes,
  canvasProblem,
  errbacksOf,
  messageOf,
  type Outgoing,
  type Routes,
  routeOf,
} from '../../templates/worker/src/runtime/canvas.ts';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { CanvasError } from '../../templates/worker/src/runtime/errors.ts';
import { chain, Producer, sig } from '../../templates/worker/src/runtime/producer.ts';
import { defineTask, timeLimits } from '../../templates/worker/src/runtime/task.ts';
import { REPO } from '../support/process.ts';

interface Sent {
  queue: string;
  body: string;
}
interface Fixture {
  case: string;
  input?: Sent;
  result?: unknown;
  sent: Sent[];
}

const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'celery-canvas', `${name}.json`), 'utf8'));

/** The fixtures' Celery app routes py.* to q-py and ts.* to q-ts. */
const ROUTES: Routes = [
  ['py.*', 'q-py'],
  ['ts.*', 'q-ts'],
];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * A message as both sides must agree on it: ids from the message that caused it kept (a chain's
 * frozen ids, parent_id, root_id), new ids as "<new>", times as "<time>"; what only names the sender
 * (lang, origin, reply_to, the repr of the arguments) and the routing key left out.
 */
function normalized(body: string, known: Set<string>): unknown {
  const envelope = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  const { lang, origin, argsrepr, kwargsrepr, eta, expires, ...headers } = envelope.headers;
  const { delivery_info, expiration, reply_to, ...properties } = envelope.properties;
  const inner = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8'));
  const shape = {
    ...envelope,
    body: inner,
    headers: { ...headers, eta: eta && '<time>', expires: expires && '<time>' },
    properties: { ...properties, expiration: expiration && '<ms>', exchange: delivery_info.exchange },
  };
  return JSON.parse(JSON.stringify(shape).replace(UUID, (id) => (known.has(id) ? id : '<new>')));
}

const idsIn = (body: string) => new Set(Buffer.from(body, 'base64').toString('utf8').match(UUID));
const encoded = ({ queue, message }: Outgoing) => ({ queue, body: encodeMessage({ ...message, queue }) });

function expectSameMessages(ours: Sent[], celery: Sent[], known: Set<string>): void {
  expect(ours.map((sent) => sent.queue)).toEqual(celery.map((sent) => sent.queue));
  expect(ours.map((sent) => normalized(sent.body, known))).toEqual(celery.map((sent) => normalized(sent.body, known)));
}

describe("what a finished task sends, as Celery's worker sends it", () => {
  it('a chain’s next step, the result prepended, with the rest of the chain; links first, as a group', () => {
    const { input, result, sent } = fixture('worker_chain_step');
    if (!input) throw new Error('fixture without input');
    const outgoing = afterSuccess(decodeMessage(input.body), result, ROUTES);
    expect(sent).toHaveLength(3);
    expectSameMessages(outgoing.map(encoded), sent, idsIn(input.body));
    const [link1, link2, next] = outgoing.map(({ message }) => message.group);
    expect(link1).toBeTruthy();
    expect(link2).toBe(link1);
    expect(next).toBeNull();
  });

  it('one link, the result prepended, no group', () => {
    const { input, result, sent } = fixture('worker_link');
    if (!input) throw new Error('fixture without input');
    expectSameMessages(afterSuccess(decodeMessage(input.body), result, ROUTES).map(encoded), sent, idsIn(input.body));
  });

  it('its link_errors once it failed, given its id (an immutable one keeps its own arguments), as a group', () => {
    const { input, sent } = fixture('worker_errbacks');
    if (!input) throw new Error('fixture without input');
    expectSameMessages(errbacksOf(decodeMessage(input.body), ROUTES).map(encoded), sent, idsIn(input.body));
  });

  it('nothing for a task without links or chain', () => {
    const plain = decodeMessage(encodeMessage({ task: 'ts.add', args: [1], queue: 'q-ts' }));
    expect(afterSuccess(plain, 2, ROUTES)).toEqual([]);
    expect(errbacksOf(plain, ROUTES)).toEqual([]);
  });
});

/** An SQS client that knows every queue and keeps what is sent. */
function recordingSqs(): { sqs: SQSClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const sqs = {
    async send(command: { constructor: { name: string }; input: Record<string, string> }) {
      switch (command.constructor.name) {
        case 'GetQueueUrlCommand':
          return { QueueUrl: `http://sqs/${command.input.QueueName}` };
        case 'GetQueueAttributesCommand':
          return { Attributes: {} };
        case 'SendMessageCommand':
          sent.push({
            queue: String(command.input.QueueUrl).split('/').pop() ?? '',
            body: command.input.MessageBody ?? '',
          });
          return { MessageId: 'm' };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as SQSClient;
  return { sqs, sent };
}

describe('the TypeScript producer sends what Celery’s sends', () => {
  const naming = { env: 'prod', user: 'u' };
  const routes = { 'py.*': 'q-py', 'ts.*': 'q-ts' };
  const fleet = (sent: Sent[]) => sent.map(({ queue, body }) => ({ queue: queue.replace(/^prod-/, ''), body }));

  it('a chain: its first step, with the rest reversed, each step frozen with its id and the link_error', async () => {
    const { sqs, sent } = recordingSqs();
    const producer = new Producer(sqs, [], naming, { routes });
    const steps = chain(
      sig('py.double', [1]),
      sig('ts.add', [5], { immutable: true }),
      sig('py.double', [], { kwargs: { k: 1 }, softTimeLimit: 5, timeLimit: 9 }),
    );
    const result = await producer.apply(steps, { linkError: sig('py.alert') });
    expectSameMessages(fleet(sent), fixture('producer_chain').sent, new Set());
    const first = decodeMessage(sent[0]?.body ?? '');
    expect(first.id).toBe(result.id);
    expect(first.headers.root_id).toBe(result.id);
  });

  it('send_task with a link, countdown, expires, shadow, ignore_result and time limits', async () => {
    const { sqs, sent } = recordingSqs();
    const producer = new Producer(sqs, [], naming, { routes });
    const before = Date.now();
    await producer.send('ts.add', [1], {
      link: sig('py.double', [2]),
      countdown: 3,
      shadow: 'adder',
      ignoreResult: true,
      timeLimit: 10,
      softTimeLimit: 4,
      expires: 60,
    });
    expectSameMessages(fleet(sent), fixture('producer_send_task').sent, new Set());
    const message = decodeMessage(sent[0]?.body ?? '');
    expect(message.eta?.getTime()).toBeGreaterThanOrEqual(before + 3000);
    expect(message.expires?.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(message.headers.timelimit).toEqual([10, 4]);
  });

  it('refuses, saying why, a countdown or eta in seconds past any time a message can carry', () => {
    const far = (options: Record<string, unknown>) => () => messageOf({ ...sig('py.x'), options }, {}, 0);
    expect(far({ countdown: 1e20 })).toThrow(/^100000000000000000000 s from now is past any time a message can carry$/);
    expect(far({ eta: 1e20 })).toThrow(CanvasError);
    expect(messageOf({ ...sig('py.x'), options: { countdown: 30 } }, {}, 0).eta?.getTime()).toBe(30_000);
  });

  it('checks the arguments of its own tasks, and routes a task nothing routes nowhere', async () => {
    const add = defineTask({ name: 'add', args: z.tuple([z.number(), z.number()]), run: ([a, b]) => a + b });
    const producer = new Producer(recordingSqs().sqs, [{ queue: 'adds', task: 'add' }], naming, { routes });
    await expect(producer.send(add, [1, 'x'] as never)).rejects.toThrow(/args\[1\]/);
    await expect(producer.send('billing.charge', [])).rejects.toThrow(/src\/config\/routes\.ts/);
    await expect(producer.apply({ ...sig('py.x'), subtask_type: 'group' })).rejects.toThrow(/result backend/);
  });
});

describe('routing', () => {
  const routes = buildRoutes(
    [{ queue: 'adds', task: 'add' }],
    { 'images.*': 'images', 'py.store': 'store' },
    {
      env: 'prod',
      user: 'u',
    },
  );

  it('finds this worker’s own tasks, then the fleet’s routes (exact or a glob), in full SQS names', () => {
    expect(routeOf(sig('add'), routes)).toBe('prod-adds');
    expect(routeOf(sig('py.store'), routes)).toBe('prod-store');
    expect(routeOf(sig('images.resize.small'), routes)).toBe('prod-images');
    expect(routeOf(sig('imagesXresize'), routes)).toBeUndefined();
  });

  it('takes a signature’s own queue option as the SQS queue name, as kombu does', () => {
    expect(routeOf({ ...sig('billing.charge'), options: { queue: 'prod-billing' } }, routes)).toBe('prod-billing');
  });
});

describe('what this worker refuses to start, before the task runs', () => {
  const embed = (fields: Record<string, unknown>) => ({
    callbacks: null,
    errbacks: null,
    chain: null,
    chord: null,
    ...fields,
  });

  it('nothing when every signature it would send is routed', () => {
    expect(canvasProblem(embed({ callbacks: [sig('ts.x')], chain: [sig('nowhere'), sig('py.y')] }), ROUTES)).toBe(
      undefined,
    );
  });

  it.each([
    ['a link nothing routes', { callbacks: [sig('billing.charge')] }, /nothing routes task "billing.charge"/],
    ['a link_error nothing routes', { errbacks: [sig('billing.alert')] }, /src\/config\/routes\.ts/],
    ['a next step nothing routes', { chain: [sig('py.y'), sig('billing.charge')] }, /billing\.charge/],
    ['a chord', { chord: sig('py.sum') }, /chord.*result backend/],
    ['a group as a link', { callbacks: [{ ...sig('celery.group'), subtask_type: 'group' }] }, /group.*result backend/],
    ['a link that is not a signature', { callbacks: [42] }, /not a Celery signature/],
    ['a next step with an unreadable eta', { chain: [{ ...sig('py.y'), options: { eta: 'soon' } }] }, /ISO-8601/],
  ])('%s', (_case, fields, reason) => {
    expect(canvasProblem(embed(fields), ROUTES)).toMatch(reason);
  });
});

describe('per-call time limits', () => {
  const task = { timeLimitSeconds: 60, hardTimeLimitSeconds: 90 };

  it('take the timelimit header, [hard, soft] as Celery writes it, over the task’s own', () => {
    expect(timeLimits(task, [20, 10])).toEqual({ soft: 10, hard: 20 });
    expect(timeLimits(task, [null, 10])).toEqual({ soft: 10, hard: 90 });
    expect(timeLimits({}, [null, 10])).toEqual({ soft: 10, hard: 40 });
    expect(timeLimits(task, [null, null])).toEqual({ soft: 60, hard: 90 });
    expect(timeLimits(task, 'junk')).toEqual({ soft: 60, hard: 90 });
  });
});

// `be-worker provision`, `status` and `dlq` on a worker with large-payloads, against fauxqs (SQS and
// S3 on one endpoint, as `npm run dev` runs it): dead letters whose body is in S3 are shown decoded
// and left in place by peek, moved with their pointer by redrive, and purged with their objects.
import { join } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeekReport } from '../../src/dlq/index.ts';
import type { IamPolicies } from '../../src/iam-policy.ts';
import type { StatusReport } from '../../src/status.ts';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import {
  type PayloadPointer,
  pointerMessage,
  readPointer,
  SIZE_ATTRIBUTE,
} from '../../templates/worker/src/runtime/payload-pointer.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { CLI, REPO, tempDir, waitFor } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const USER = 'ops';
const ORDERS = fullQueueName('orders', { env: 'local', user: USER });
const BUCKET = 'shop-large-payloads';
let server: FauxqsServer;
let endpoint: string;
let worker: string;
const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
let s3: S3Client;
const sqs = () => createSqsClient({ region: 'us-east-1', endpoint });

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  endpoint = `http://127.0.0.1:${server.port}`;
  s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', USER, '--queue', 'orders:ship', '--with', 'large-payloads', '--no-install', '--no-git'],
    { cwd },
  );
  worker = join(cwd, 'shop');
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

function beWorker(...args: string[]) {
  return execa('node', [BE_WORKER, ...args, '--endpoint', endpoint, '--region', 'us-east-1'], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await beWorker(...args, '--json');
  expect(result.exitCode, result.all).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** A task body in S3, as the worker stores one: the Celery message, under the key. */
async function storeBody(key: string, args: unknown[]): Promise<PayloadPointer> {
  const body = encodeMessage({ task: 'ship', args, queue: ORDERS, maxBytes: 64 * 1024 * 1024 });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return { bucket: BUCKET, key, size: Buffer.byteLength(body) };
}

/** A dead letter as the worker sends one whose body was a pointer: the pointer, its size attribute, the reason. */
function pointerLetter(pointer: PayloadPointer, index: number): SendMessageBatchRequestEntry {
  const { body, attributes } = pointerMessage(pointer);
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  return {
    Id: String(index),
    MessageBody: body,
    MessageAttributes: {
      ...attributes,
      error_type: text('ValueError'),
      error_message: text(`bad parcel ${index}`),
      task: text('ship'),
      task_id: text(`task-${index}`),
      source_queue: text(ORDERS),
      dead_lettered_at: text(new Date(Date.now() - 60_000).toISOString()),
    },
  };
}

async function deadLetter(entries: SendMessageBatchRequestEntry[]): Promise<void> {
  await sqs().send(
    new SendMessageBatchCommand({ QueueUrl: await resolveQueueUrl(sqs(), `err-${ORDERS}`), Entries: entries }),
  );
}

const exists = (key: string) =>
  s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );

describe('be-worker with large-payloads, on the local emulator', () => {
  const big = 'p'.repeat(3 * 1024 * 1024 + 7);
  let kept: PayloadPointer;

  it('provision makes the queues and the bucket the worker uses locally (<worker>-large-payloads)', async () => {
    const result = await beWorker('provision', '--env', 'local');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/^Payload bucket shop-large-payloads, prefix \(none: the whole bucket\)/m);
    expect(result.stdout).toMatch(/^bucket {10}created$/m);
    expect(result.stdout).toMatch(/^lifecycle rule {2}created$/m);
    const again = await beWorker('provision', '--env', 'local');
    expect(again.stdout).toMatch(/^bucket {10}unchanged$/m);
    expect(again.stdout).toMatch(/^lifecycle rule {2}unchanged$/m);
  }, 60_000);

  it('peek shows a body in S3 decoded, and one whose object is gone, leaving messages and objects in place', async () => {
    kept = await storeBody('payloads/kept', [big, 7]);
    const gone = await storeBody('payloads/gone', ['x']);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: gone.key }));
    await deadLetter([
      pointerLetter(kept, 0),
      pointerLetter(gone, 1),
      { Id: '2', MessageBody: encodeMessage({ task: 'ship', args: ['small'], queue: ORDERS }) },
    ]);
    const report = await json<PeekReport>('dlq', 'peek', 'orders');
    expect(report.messages).toBe(3);
    const byId = new Map(report.letters.map((letter) => [letter.taskId ?? letter.args?.[0], letter]));
    const resolved = [...byId.values()].find((letter) => letter.payload?.key === 'payloads/kept');
    expect(resolved).toMatchObject({
      task: 'ship',
      kwargs: {},
      errorType: 'ValueError',
      payload: { bucket: BUCKET, key: 'payloads/kept', size: kept.size },
    });
    expect(resolved?.args).toEqual([big, 7]);
    expect(resolved?.decodeError).toBeUndefined();
    const missing = byId.get('task-1');
    expect(missing).toMatchObject({ task: 'ship', payload: { key: 'payloads/gone' } });
    expect(missing?.payload?.unread).toMatch(/^NoSuchKey: the object is gone/);
    expect(byId.get('small')?.payload).toBeUndefined();

    const text = await beWorker('dlq', 'peek', 'orders');
    expect(text.stdout).toContain(`body in s3://${BUCKET}/payloads/kept (${kept.size} bytes; left there)`);
    expect(text.stdout).toContain(`args ["${'p'.repeat(69)}`);
    expect(text.stdout).toMatch(
      /body in s3:\/\/shop-large-payloads\/payloads\/gone \(\d+ bytes; left there\): NoSuchKey/,
    );
    expect(await exists('payloads/kept')).toBe(true);
    expect((await json<PeekReport>('dlq', 'peek', 'orders')).messages).toBe(3);
  }, 60_000);

  it('status counts the objects under the prefix, in one listing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other/x', Body: 'abc' }));
    const all = await json<StatusReport>('status');
    expect(all.payloads).toEqual({ bucket: BUCKET, prefix: '', objects: 2, bytes: kept.size + 3, more: false });
    const prefixed = await json<StatusReport>('status', '--payload-prefix', 'payloads/');
    expect(prefixed.payloads).toMatchObject({ prefix: 'payloads/', objects: 1, bytes: kept.size });
    const text = await beWorker('status', '--payload-prefix', 'payloads/');
    expect(text.stdout).toContain(`Large payloads: 1 object(s), ${kept.size} bytes in s3://${BUCKET}/payloads/`);
    const elsewhere = await json<StatusReport>('status', '--bucket', 'nobody-made-this');
    expect(elsewhere.payloads).toMatchObject({ bucket: 'nobody-made-this', missing: true });
  }, 60_000);

  it('redrive moves a pointer with its size attribute, and its object stays', async () => {
    const result = await beWorker('dlq', 'redrive', 'orders');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('Moved 3 message(s)');
    const received: Message[] = [];
    const url = await resolveQueueUrl(sqs(), ORDERS);
    await waitFor('the moved messages', async () => {
      const { Messages = [] } = await sqs().send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      received.push(...Messages);
      return received.length >= 3 ? true : undefined;
    });
    const pointers = received.map((message) => readPointer(message)).filter(Boolean);
    expect(pointers).toContainEqual(kept);
    const moved = received.find((message) => readPointer(message)?.key === kept.key);
    expect(moved?.MessageAttributes?.[SIZE_ATTRIBUTE]).toEqual({ DataType: 'Number', StringValue: String(kept.size) });
    expect(moved?.Body).toBe(pointerMessage(kept).body);
    expect(await exists(kept.key)).toBe(true);
  }, 60_000);

  it('iam-policy grants the object actions on the bucket provision names, under the prefix only', async () => {
    const args = ['iam-policy', '--env', 'prod', '--account', '210987654321', '--json'];
    const result = await execa('node', [BE_WORKER, ...args], { cwd: worker, reject: false, all: true });
    expect(result.exitCode, result.all).toBe(0);
    const { worker: policy } = JSON.parse(result.stdout) as IamPolicies;
    expect(policy.Statement.find(({ Sid }) => Sid === 'LargePayloadObjects')).toEqual({
      Sid: 'LargePayloadObjects',
      Effect: 'Allow',
      Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      Resource: ['arn:aws:s3:::prod-shop-large-payloads-210987654321/*'],
    });
    const chosen = await execa(
      'node',
      [BE_WORKER, ...args, '--bucket', 'our.payloads', '--payload-prefix', 'shop/big/'],
      { cwd: worker, reject: false, all: true },
    );
    expect(JSON.parse(chosen.stdout).worker.Statement.at(-1).Resource).toEqual([
      'arn:aws:s3:::our.payloads/shop/big/*',
    ]);
    const text = await execa('node', [BE_WORKER, ...args.slice(0, -1)], { cwd: worker, reject: false, all: true });
    expect(text.stdout).toContain(
      "And the large-payloads integration's S3 calls, on arn:aws:s3:::prod-shop-large-payloads-210987654321/* only",
    );
  }, 60_000);

  it('purge deletes the objects of the messages it purges, and no other', async () => {
    const first = await storeBody('payloads/purged-1', ['a']);
    const second = await storeBody('payloads/purged-2', ['b']);
    await deadLetter([pointerLetter(first, 0), pointerLetter(second, 1)]);
    const result = await beWorker('dlq', 'purge', 'orders', '--yes');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('Deleted 2 stored bodies of those messages from S3.');
    expect(await exists(first.key)).toBe(false);
    expect(await exists(second.key)).toBe(false);
    // The redriven message's object and one no message names are not the purge's.
    expect(await exists(kept.key)).toBe(true);
    expect(await exists('other/x')).toBe(true);
  }, 60_000);
});

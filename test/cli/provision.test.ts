// `be-worker provision` and `create-be-worker --provision` as a user runs them, against fauxqs in
// this process standing in for AWS (its STS answers GetCallerIdentity).
import { join } from 'node:path';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
let server: FauxqsServer;
let worker: string;

/** No credentials anywhere, and no instance metadata lookups off this machine. */
const noAws = (home: string) => ({
  PATH: process.env.PATH ?? '',
  HOME: home,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: join(home, 'none'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
});

const beWorker = (...args: string[]) =>
  execa('node', [BE_WORKER, ...args], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    extendEnv: false,
    env: noAws(worker),
  });

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--queue', 'ledger.fifo:post', '--no-install', '--no-git'],
    { cwd },
  );
  worker = join(cwd, 'shop');
});
afterAll(async () => {
  await server?.stop();
});

describe('be-worker provision', () => {
  const sqs = () => createSqsClient({ region: 'us-west-1', endpoint: server.address });
  const exists = async (name: string) =>
    resolveQueueUrl(sqs(), name).then(
      () => true,
      () => false,
    );

  it('prints the plan without changing anything on --dry-run', async () => {
    const result = await beWorker('provision', '--endpoint', server.address, '--dry-run');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('AWS account 000000000000 as arn:aws:iam::000000000000:root');
    expect(result.stdout).toMatch(/err-ann-local-orders\s+dead-letter\s+create/);
    expect(result.stdout).toMatch(/ann-local-ledger\.fifo\s+queue\s+create/);
    expect(await exists('ann-local-orders')).toBe(false);
  });

  it('creates the queues and DLQs, then finds nothing to do', async () => {
    const first = await beWorker('provision', '--endpoint', server.address);
    expect(first.exitCode, first.all).toBe(0);
    expect(first.stdout.match(/\bcreated\b/g)).toHaveLength(4);
    expect(await exists('err-ann-local-ledger.fifo')).toBe(true);
    const second = await beWorker('provision', '--endpoint', server.address);
    expect(second.stdout).toContain('Everything is in place: nothing to change.');
  });

  it('reports drift field by field, and fixes it with --fix', async () => {
    const url = await resolveQueueUrl(sqs(), 'ann-local-orders');
    await sqs().send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '77' } }));
    const report = await beWorker('provision', '--endpoint', server.address, '--json');
    const entries = JSON.parse(report.stdout).entries;
    expect(entries.find((entry: { name: string }) => entry.name === 'ann-local-orders')).toMatchObject({
      action: 'drift',
      outcome: 'drift',
      drift: [{ attribute: 'VisibilityTimeout', actual: '77', expected: '30' }],
    });
    const fixed = await beWorker('provision', '--endpoint', server.address, '--fix');
    expect(fixed.stdout).toMatch(/ann-local-orders\s+queue\s+fixed\s+VisibilityTimeout: 77 → 30/);
    const { Attributes } = await sqs().send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout'] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('30');
  });

  it('will not change a shared environment without --yes when there is no terminal', async () => {
    const result = await beWorker('provision', '--endpoint', server.address, '--env', 'prod');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('pass --yes');
    expect(await exists('prod-orders')).toBe(false);
    const confirmed = await beWorker('provision', '--endpoint', server.address, '--env', 'prod', '--yes');
    expect(confirmed.exitCode, confirmed.all).toBe(0);
    expect(await exists('prod-orders')).toBe(true);
  });

  it('says in one sentence that credentials are missing, and exits 2', async () => {
    const result = await beWorker('provision');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('No usable AWS credentials');
    expect(result.stderr).toContain('--endpoint');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('create-be-worker --provision', () => {
  it('creates the queues of the new worker', async () => {
    const cwd = await tempDir();
    const result = await execa(
      'node',
      [CLI, 'billing', '--user', 'bo', '--no-install', '--no-git', '--provision', '--endpoint', server.address],
      { cwd, reject: false, all: true, stdin: 'ignore', extendEnv: false, env: noAws(cwd) },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/bo-local-billing-add\s+queue\s+created/);
    await expect(
      resolveQueueUrl(createSqsClient({ region: 'us-west-1', endpoint: server.address }), 'err-bo-local-billing-add'),
    ).resolves.toContain('err-bo-local-billing-add');
  });
});

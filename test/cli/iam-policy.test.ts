// `be-worker iam-policy` as a user runs it: the policies for people and (--json) for scripts, the
// account from --account or from STS (fauxqs in this process answers GetCallerIdentity), and the
// queues add-queue and routes.ts add.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IamPolicies } from '../../src/iam-policy.ts';
import { CLI, noAwsEnv, REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
let server: FauxqsServer;

const beWorker = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  execa('node', [BE_WORKER, ...args], {
    cwd,
    reject: false,
    all: true,
    stdin: 'ignore',
    extendEnv: false,
    env: { ...noAwsEnv(cwd), ...env },
  });

/** A new worker "shop" (made for env local, region eu-central-1) with two queues. */
async function shop(): Promise<string> {
  const cwd = await tempDir();
  await execa(
    'node',
    [
      CLI,
      'shop',
      ...['--user', 'ann', '--region', 'eu-central-1', '--queue', 'orders:ship', '--queue', 'ledger.fifo:post'],
      ...['--no-install', '--no-git'],
    ],
    { cwd },
  );
  return join(cwd, 'shop');
}

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
});
afterAll(async () => {
  await server?.stop();
});

const arn = (region: string, account: string, name: string) => `arn:aws:sqs:${region}:${account}:${name}`;

describe('be-worker iam-policy', () => {
  let worker: string;
  beforeAll(async () => {
    worker = await shop();
  }, 60_000);

  it('--json prints the two policy documents only, for the env and account asked', async () => {
    const result = await beWorker(worker, ['iam-policy', '--env', 'prod', '--account', '123456789012', '--json']);
    expect(result.exitCode, result.all).toBe(0);
    const policies = JSON.parse(result.stdout) as IamPolicies;
    expect(Object.keys(policies)).toEqual(['worker', 'keda']);
    const at = (name: string) => arn('eu-central-1', '123456789012', name);
    expect(policies.worker.Statement.map((statement) => statement.Resource)).toEqual([
      [at('prod-orders'), at('prod-ledger.fifo')],
      [at('err-prod-orders'), at('err-prod-ledger.fifo')],
    ]);
    expect(policies.keda.Statement[0]?.Resource).toEqual([at('prod-orders'), at('prod-ledger.fifo')]);
    expect(policies.worker.Version).toBe('2012-10-17');
  });

  it('says for people what each policy is, why, and where to attach it, with --region honoured', async () => {
    const result = await beWorker(worker, [
      'iam-policy',
      '--env',
      'dev',
      '--account',
      '000000000007',
      '--region',
      'us-east-1',
    ]);
    expect(result.exitCode, result.all).toBe(0);
    const out = result.stdout;
    expect(out).toContain('env "dev" of AWS account 000000000007, region us-east-1');
    expect(out).toMatch(/worker's role/i);
    expect(out).toMatch(/IRSA|Pod Identity/);
    expect(out).toMatch(/KEDA/);
    expect(out).toContain(arn('us-east-1', '000000000007', 'err-dev-orders'));
    expect(out).toContain('"sqs:ReceiveMessage"');
    // Each document is there whole, as valid JSON.
    const documents = [...out.matchAll(/^\{\n[\s\S]*?\n\}$/gm)].map(([text]) => JSON.parse(text));
    expect(documents).toHaveLength(2);
  });

  it('takes the account from STS when there are credentials', async () => {
    const result = await beWorker(worker, ['iam-policy', '--env', 'prod', '--json'], {
      AWS_ENDPOINT_URL_STS: server.address,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    expect(result.exitCode, result.all).toBe(0);
    expect(JSON.parse(result.stdout).keda.Statement[0].Resource[0]).toBe(
      arn('eu-central-1', '000000000000', 'prod-orders'),
    );
  });

  it('without credentials nor --account says what to pass, and exits 2', async () => {
    const result = await beWorker(worker, ['iam-policy', '--env', 'prod']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('pass --account <12 digits>');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses env local (the worker’s own here) and an env that is not a name, saying which, exit 1', async () => {
    const local = await beWorker(worker, ['iam-policy', '--account', '123456789012']);
    expect(local.exitCode).toBe(1);
    expect(local.stderr).toMatch(/local SQS of npm run dev.*AWS envs.*--env dev/);
    const bad = await beWorker(worker, ['iam-policy', '--env', 'Prod!', '--account', '123456789012']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--env "Prod!"');
    expect(bad.stdout).toBe('');
  });

  it('covers a queue add-queue adds and the queues routes.ts sends to', async () => {
    const own = await shop();
    const added = await beWorker(own, ['add-queue', 'refunds', '--task', 'refund']);
    expect(added.exitCode, added.all).toBe(0);
    const routes = join(own, 'src', 'config', 'routes.ts');
    await writeFile(routes, (await readFile(routes, 'utf8')).replace("// 'images.store'", "'images.store'"));
    const result = await beWorker(own, ['iam-policy', '--env', 'qa', '--account', '123456789012', '--json']);
    expect(result.exitCode, result.all).toBe(0);
    const { worker: policy, keda } = JSON.parse(result.stdout) as IamPolicies;
    const names = (resources: string[] = []) => resources.map((resource) => resource.split(':').at(-1));
    expect(names(policy.Statement[0]?.Resource)).toEqual(['qa-orders', 'qa-ledger.fifo', 'qa-refunds']);
    expect(names(policy.Statement[1]?.Resource)).toEqual([
      'err-qa-orders',
      'err-qa-ledger.fifo',
      'err-qa-refunds',
      'qa-images-store',
    ]);
    expect(names(keda.Statement[0]?.Resource)).toEqual(['qa-orders', 'qa-ledger.fifo', 'qa-refunds']);
  });
});

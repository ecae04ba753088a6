// `be-worker provision` and `create-be-worker --provision` as a user runs them, against fauxqs in
// this process standing in for AWS (its STS answers GetCallerIdentity).
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { LOCAL_SQS_ENDPOINT } from '../../templates/worker/src/runtime/startup.ts';
import { CLI, noAwsEnv, REPO, tempDir } from '../support/process.ts';
import { killTerminals, spawnInTerminal } from '../support/terminal.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
let server: FauxqsServer;
let worker: string;

const beWorker = (...args: string[]) =>
  execa('node', [BE_WORKER, ...args], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    extendEnv: false,
    env: noAwsEnv(worker),
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
  killTerminals();
  await server?.stop();
});

/** A new worker "shop" (queue orders, task ship) of its own, for tests that add to it. */
async function freshShop(): Promise<string> {
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', '--no-git'], { cwd });
  return join(cwd, 'shop');
}

/** Every file of a directory, path → contents. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return new Map(
    await Promise.all(files.map(async (file) => [relative(root, file), await readFile(file, 'utf8')] as const)),
  );
}

const sqsExists = async (name: string) =>
  resolveQueueUrl(createSqsClient({ region: 'us-west-1', endpoint: server.address }), name).then(
    () => true,
    () => false,
  );

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
    // Env local has no IAM to speak of.
    expect(second.stdout).not.toContain('iam-policy');
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
    // Its last line says where the IAM policies for the queues come from.
    expect(confirmed.stdout.trim().split('\n').at(-1)).toBe(
      "The IAM policies for the worker's role and KEDA's: npm run be-worker -- iam-policy --env prod",
    );
  });

  it('says in one sentence that credentials are missing, and exits 2', async () => {
    const result = await beWorker('provision', '--env', 'dev');
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
      { cwd, reject: false, all: true, stdin: 'ignore', extendEnv: false, env: noAwsEnv(cwd) },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/bo-local-billing-add\s+queue\s+created/);
    await expect(
      resolveQueueUrl(createSqsClient({ region: 'us-west-1', endpoint: server.address }), 'err-bo-local-billing-add'),
    ).resolves.toContain('err-bo-local-billing-add');
  });
});

describe('be-worker provision in a terminal, to a shared env', () => {
  it('shows who, where and what before it asks', async () => {
    const cli = spawnInTerminal(
      BE_WORKER,
      ['provision', '--endpoint', server.address, '--env', 'stage'],
      worker,
      noAwsEnv(worker),
    );
    const question = 'Change 4 queue(s) in env "stage" of AWS account 000000000000 (us-west-1)?';
    await cli.waitFor(question);
    const screen = cli.screen();
    const plan = screen.indexOf('AWS account 000000000000 as arn:aws:iam::000000000000:root, region us-west-1');
    expect(plan, screen).toBeGreaterThanOrEqual(0);
    expect(screen.slice(plan)).toMatch(
      /err-stage-orders\s+dead-letter\s+create[\s\S]*stage-ledger\.fifo\s+queue\s+create/,
    );
    expect(plan).toBeLessThan(screen.indexOf(question));
    expect(await sqsExists('stage-orders')).toBe(false);
    cli.write('y');

    expect(await cli.exited, cli.screen()).toBe(0);
    expect(await sqsExists('stage-orders')).toBe(true);
  });
});

describe('be-worker add-queue --provision', () => {
  it('refuses a shared env without --yes and without a terminal before changing a file; --yes then does it all', async () => {
    const shop = await freshShop();
    const before = await snapshot(shop);
    const run = (...args: string[]) =>
      execa(
        'node',
        [BE_WORKER, 'add-queue', 'refunds', '--provision', '--env', 'qa', '--endpoint', server.address, ...args],
        {
          cwd: shop,
          reject: false,
          all: true,
          stdin: 'ignore',
          extendEnv: false,
          env: noAwsEnv(shop),
        },
      );
    const refused = await run();
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.stderr).toContain('pass --yes');
    expect(await snapshot(shop)).toEqual(before);

    const confirmed = await run('--yes');
    expect(confirmed.exitCode, confirmed.all).toBe(0);
    expect(confirmed.stdout).toMatch(/qa-refunds\s+queue\s+created/);
    expect(await readFile(join(shop, 'src/config/queues.ts'), 'utf8')).toContain("queue: 'refunds'");
    expect(await sqsExists('err-qa-refunds')).toBe(true);
  });

  it('without AWS credentials changes no file, so the same command works once logged in', async () => {
    const shop = await freshShop();
    const before = await snapshot(shop);
    const result = await execa('node', [BE_WORKER, 'add-queue', 'refunds', '--provision', '--env', 'dev', '--yes'], {
      cwd: shop,
      reject: false,
      all: true,
      stdin: 'ignore',
      extendEnv: false,
      env: noAwsEnv(shop),
    });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr).toContain('No usable AWS credentials');
    expect(await snapshot(shop)).toEqual(before);
  });

  it('in a terminal shows the plan and asks before changing a file; no changes nothing, yes changes both', async () => {
    const shop = await freshShop();
    const before = await snapshot(shop);
    const args = ['add-queue', 'refunds', '--provision', '--env', 'uat', '--endpoint', server.address];
    const question = 'Change 2 queue(s) in env "uat" of AWS account 000000000000 (us-west-1)?';

    const declined = spawnInTerminal(BE_WORKER, args, shop, noAwsEnv(shop));
    await declined.waitFor(question);
    expect(declined.screen()).toMatch(/err-uat-refunds\s+dead-letter\s+create/);
    expect(await snapshot(shop)).toEqual(before);
    declined.write('n');
    expect(await declined.exited, declined.screen()).toBe(130);
    expect(declined.screen()).toContain('Nothing was changed.');
    expect(await snapshot(shop)).toEqual(before);

    const accepted = spawnInTerminal(BE_WORKER, args, shop, noAwsEnv(shop));
    await accepted.waitFor(question);
    accepted.write('y');
    expect(await accepted.exited, accepted.screen()).toBe(0);
    expect(await readFile(join(shop, 'src/config/queues.ts'), 'utf8')).toContain("queue: 'refunds'");
    expect(await sqsExists('uat-refunds')).toBe(true);
  });
});

describe('create-be-worker --provision, when provisioning cannot go on', () => {
  it('without credentials: keeps the worker, prints the next steps and how to provision later, exits 2', async () => {
    const cwd = await tempDir();
    const result = await execa(
      'node',
      [CLI, 'billing', '--env', 'dev', '--yes', '--no-install', '--no-git', '--provision'],
      {
        cwd,
        reject: false,
        all: true,
        stdin: 'ignore',
        extendEnv: false,
        env: noAwsEnv(cwd),
      },
    );
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stdout).toMatch(
      /Next steps:\n {2}cd billing\n {2}npm install\n {2}npm run be-worker -- provision +# create the SQS queues/,
    );
    expect(result.stderr).toContain('No usable AWS credentials');
    expect(result.stderr).toContain(
      `The worker is in ${join(cwd, 'billing')}; to provision it later: cd billing && npm run be-worker -- provision`,
    );
    expect(await readdir(join(cwd, 'billing'))).toContain('package.json');
  });

  it('to a shared env without --yes and without a terminal: refused before writing anything', async () => {
    const cwd = await tempDir();
    const result = await execa(
      'node',
      [CLI, 'billing', '--env', 'prod', '--no-install', '--no-git', '--provision', '--endpoint', server.address],
      { cwd, reject: false, all: true, stdin: 'ignore', extendEnv: false, env: noAwsEnv(cwd) },
    );
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stderr).toContain('pass --yes');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('Ctrl-C at the question for a shared env: exit 130, the worker kept, how to provision later', async () => {
    const cwd = await tempDir();
    const cli = spawnInTerminal(
      CLI,
      // Every answer as a flag, so nothing is asked but the question (--yes would answer it).
      [
        'billing',
        ...['--name', 'billing', '--description', 'Bills', '--queue', 'billing-add:add', '--none'],
        ...['--env', 'prod', '--no-install', '--no-git', '--provision', '--endpoint', server.address],
      ],
      cwd,
      noAwsEnv(cwd),
    );
    await cli.waitFor('Change 2 queue(s) in env "prod"');
    cli.write('\x03');
    expect(await cli.exited, cli.screen()).toBe(130);
    expect(cli.screen().replace(/\s+/g, ' ')).toContain(
      `The worker is in ${join(cwd, 'billing')}; to provision it later: cd billing && npm run be-worker -- provision --endpoint ${server.address}`,
    );
    expect(await sqsExists('prod-billing-add')).toBe(false);
  });
});

describe('env local, without --endpoint: the local SQS of npm run dev, as status and dlq use', () => {
  let local: FauxqsServer;
  const localSqs = () => createSqsClient({ region: 'us-west-1', endpoint: LOCAL_SQS_ENDPOINT });
  const localExists = (name: string) =>
    resolveQueueUrl(localSqs(), name).then(
      () => true,
      () => false,
    );
  beforeAll(async () => {
    local = await startFauxqs({ port: Number(new URL(LOCAL_SQS_ENDPOINT).port), logger: false });
  });
  afterAll(async () => local?.stop());
  const run = (bin: string, cwd: string, ...args: string[]) =>
    execa('node', [bin, ...args], {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      extendEnv: false,
      env: noAwsEnv(cwd),
    });

  it('provision creates the queues there, with no AWS credentials', async () => {
    const shop = await freshShop();
    const result = await run(BE_WORKER, shop, 'provision');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toMatch(/ann-local-orders\s+queue\s+created/);
    expect(await localExists('err-ann-local-orders')).toBe(true);
  });

  it('add-queue --provision creates the new queue there', async () => {
    const shop = await freshShop();
    const result = await run(BE_WORKER, shop, 'add-queue', 'refunds', '--provision');
    expect(result.exitCode, result.all).toBe(0);
    expect(await localExists('err-ann-local-refunds')).toBe(true);
  });

  it('create-be-worker --provision creates the queues there', async () => {
    const cwd = await tempDir();
    const result = await run(CLI, cwd, 'tills', '--user', 'cy', '--no-install', '--no-git', '--provision');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain(`at ${LOCAL_SQS_ENDPOINT}`);
    expect(await localExists('cy-local-tills-add')).toBe(true);
  });
});

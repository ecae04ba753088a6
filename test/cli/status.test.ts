// `be-worker status`: each queue of the worker and its DLQ as SQS counts them, against fauxqs in this
// process (its STS answers GetCallerIdentity).
import { join } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/status.ts';
import { provisionQueues } from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';
import { killTerminals, spawnInTerminal } from '../support/terminal.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
let server: FauxqsServer;
let worker: string;
const sqs = () => createSqsClient({ region: 'us-west-1', endpoint: server.address });
const send = async (queue: string, delaySeconds = 0) =>
  sqs().send(
    new SendMessageCommand({
      QueueUrl: await resolveQueueUrl(sqs(), queue),
      MessageBody: 'x',
      DelaySeconds: delaySeconds,
    }),
  );

const beWorker = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [BE_WORKER, 'status', '--endpoint', server.address, ...args], {
    cwd: worker,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '', ...env },
  });

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--queue', 'naps:nap', '--no-install', '--no-git'],
    { cwd },
  );
  worker = join(cwd, 'shop');
  // Only orders is provisioned: naps is missing in SQS.
  await provisionQueues(sqs(), ['ann-local-orders'], {});
  await send('ann-local-orders');
  await send('ann-local-orders');
  await send('ann-local-orders', 600);
  await sqs().send(
    new ReceiveMessageCommand({ QueueUrl: await resolveQueueUrl(sqs(), 'ann-local-orders'), MaxNumberOfMessages: 1 }),
  );
  await send('err-ann-local-orders');
  await send('err-ann-local-orders');
});
afterEach(killTerminals);
afterAll(async () => server?.stop());

describe('be-worker status', () => {
  it('--json: visible, in flight and delayed of each queue and its DLQ; a queue not provisioned is missing', async () => {
    const result = await beWorker(['--json']);
    expect(result.exitCode, result.all).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report).toMatchObject({ identity: { account: '000000000000' }, region: 'us-west-1', env: 'local' });
    expect(report.queues).toEqual([
      { queue: 'orders', name: 'ann-local-orders', role: 'queue', visible: 1, inFlight: 1, delayed: 1 },
      { queue: 'orders', name: 'err-ann-local-orders', role: 'dead-letter', visible: 2, inFlight: 0, delayed: 0 },
      { queue: 'naps', name: 'ann-local-naps', role: 'queue', missing: true },
      { queue: 'naps', name: 'err-ann-local-naps', role: 'dead-letter', missing: true },
    ]);
  });

  it('prints who and where first, then a compact table with the DLQ holding messages in red', async () => {
    const result = await beWorker([], { FORCE_COLOR: '1' });
    expect(result.exitCode, result.all).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('AWS account 000000000000 as arn:aws:iam::000000000000:root, region us-west-1, env "local"');
    expect(lines[1]).toMatch(/^QUEUE +VISIBLE +IN FLIGHT +DELAYED$/);
    expect(lines[2]).toMatch(/^ann-local-orders +1 +1 +1$/);
    expect(lines[3]).toContain('\x1b[31m');
    expect(lines[3]).toContain('err-ann-local-orders');
    expect(lines.filter((line) => line.includes('\x1b[31m'))).toHaveLength(1);
    expect(lines[4]).toMatch(/^ann-local-naps +- +- +- +.*missing: npm run be-worker -- provision/);
  });

  it('a queue not provisioned in the env: dlq commands on it exit 2 saying how to create it', async () => {
    const result = await execa('node', [BE_WORKER, 'dlq', 'peek', 'naps', '--endpoint', server.address], {
      cwd: worker,
      reject: false,
      stdin: 'ignore',
      env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^✖ SQS queue "(err-)?ann-local-naps" does not exist; create the worker's queues with npm run be-worker -- provision --env local\.$/,
    );
  });

  it('--watch needs a terminal, and does not go with --json', async () => {
    const piped = await beWorker(['--watch']);
    expect(piped.exitCode).toBe(1);
    expect(piped.stderr.trim()).toBe(
      '✖ --watch redraws in place in a terminal, and this output is not one; run status without --watch (--json for scripts).',
    );
    const json = await beWorker(['--watch', '--json']);
    expect(json.exitCode).toBe(1);
    expect(json.stderr).toContain('--watch redraws a table; leave out --json');
  });

  it('--watch redraws the table in place in a terminal as the counts change, until Ctrl-C (exit 130)', async () => {
    const cli = spawnInTerminal(
      BE_WORKER,
      ['status', '--watch', '--interval', '1', '--endpoint', server.address],
      worker,
      { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
    );
    await cli.waitFor('Ctrl-C to stop');
    await send('err-ann-local-orders');
    await cli.waitFor(/err-ann-local-orders +3/);
    // Back up over the 7 lines drawn (who, header, 4 queues, the time), cleared, drawn again.
    expect(cli.output()).toContain('\x1b[7F\x1b[0J');
    cli.write('\x03');
    expect(await cli.exited, cli.screen()).toBe(130);
  });
});

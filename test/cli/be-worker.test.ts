import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const CREATE = join(REPO, 'bin', 'create-be-worker.js');
const run = (cwd: string, ...args: string[]) => execa('node', [BE_WORKER, ...args], { cwd, reject: false, all: true });

describe('be-worker info', () => {
  it('shows the queues of the worker it runs in, from any folder inside it, for any env', async () => {
    const cwd = await tempDir();
    await execa('node', [CREATE, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', '--no-git'], {
      cwd,
    });
    const local = await run(join(cwd, 'shop', 'src', 'tasks'), 'info');
    expect(local.exitCode, local.all).toBe(0);
    expect(local.stdout).toContain('orders → ann-local-orders (DLQ err-ann-local-orders), task ship');
    const prod = await run(join(cwd, 'shop'), 'info', '--env', 'prod');
    expect(prod.stdout).toContain('orders → prod-orders (DLQ err-prod-orders), task ship');
  });

  it('says where it looked when run outside a worker', async () => {
    const cwd = await tempDir();
    const result = await run(cwd, 'info');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`no be-worker.json in ${cwd}`);
  });

  it('names the broken field of a damaged be-worker.json', async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, 'w'));
    await writeFile(
      join(cwd, 'w', 'be-worker.json'),
      JSON.stringify({ cliVersion: '1', templateVersion: '1', answers: {} }),
    );
    const result = await run(join(cwd, 'w'), 'info');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('answers.name');
  });
});

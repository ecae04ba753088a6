// Ctrl-C at every stage of `create-be-worker` in a real terminal: the prompts, writing the files,
// the install, the first git commit and provisioning. Each exits 130 and says what was kept and
// how to finish. A stage is held open by a stand-in (a slow tool on PATH, a paused write, an SQS
// that never answers), so Ctrl-C lands in it and not before or after.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { PAUSE_MARK } from '../support/pause-writes.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';
import { pathWithShims } from '../support/shims.ts';
import { KEYS, killTerminals, spawnInTerminal } from '../support/terminal.ts';

const COMMIT = `git init && git add --all && git commit -m "Initial commit from create-be-worker ${packageJson.version}"`;
const flat = (text: string) => text.replace(/\s+/g, ' ');

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  killTerminals();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A TCP server that accepts and never answers: an AWS endpoint that hangs. */
async function silentEndpoint(): Promise<string> {
  server = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('Ctrl-C in create-be-worker', () => {
  it('while writing the files: exit 130, nothing written', async () => {
    const cwd = await tempDir();
    const cli = spawnInTerminal(CLI, ['w', '--yes', '--no-install', '--no-git'], cwd, {
      NODE_OPTIONS: `--import=${join(REPO, 'test', 'support', 'pause-writes.ts')}`,
    });
    await cli.waitFor(PAUSE_MARK);
    cli.write(KEYS.CTRL_C);

    expect(await cli.exited, cli.screen()).toBe(130);
    expect(cli.screen()).toContain('Cancelled; nothing was written.');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('during the install: exit 130, the project kept, the commands to finish', async () => {
    const cwd = await tempDir();
    // Only the install holds: from a clone, create runs `npm pack` too (the worker's vendor/).
    const npm = (await execa('sh', ['-c', 'command -v npm'])).stdout.trim();
    const PATH = await pathWithShims([{ name: 'npm', when: 'install', real: npm }]);
    const cli = spawnInTerminal(CLI, ['w', '--yes'], cwd, { PATH });
    await cli.waitFor('shim: npm holds');
    cli.write(KEYS.CTRL_C);

    expect(await cli.exited, cli.screen()).toBe(130);
    const project = join(cwd, 'w');
    expect(flat(cli.screen())).toContain(
      `Cancelled during the install. Kept: the project in ${project}, without its dependencies. To finish: cd ${project} && npm install --no-fund --no-audit && ${COMMIT}`,
    );
    expect(cli.screen()).toContain('Install cancelled');
    expect(cli.screen()).not.toMatch(/Canceled|Dependencies installed/);
    expect(existsSync(join(project, 'package.json'))).toBe(true);
    expect(existsSync(join(project, '.git'))).toBe(false);
  });

  it('during the first git commit: exit 130, the project kept without a half-made repository', async () => {
    const cwd = await tempDir();
    const git = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
    const PATH = await pathWithShims([{ name: 'git', when: 'commit', real: git }]);
    const cli = spawnInTerminal(CLI, ['w', '--yes', '--no-install'], cwd, { PATH });
    await cli.waitFor('shim: git holds');
    cli.write(KEYS.CTRL_C);

    expect(await cli.exited, cli.screen()).toBe(130);
    const project = join(cwd, 'w');
    expect(flat(cli.screen())).toContain(
      `Cancelled during the first git commit. Kept: the project in ${project}, without a git repository. To finish: cd ${project} && ${COMMIT}`,
    );
    expect(existsSync(join(project, 'package.json'))).toBe(true);
    expect(existsSync(join(project, '.git'))).toBe(false);
  });

  it('while provisioning: exit 130, the worker kept, the next steps and the command to provision', async () => {
    const cwd = await tempDir();
    const endpoint = await silentEndpoint();
    const cli = spawnInTerminal(
      CLI,
      ['w', '--yes', '--no-install', '--no-git', '--provision', '--endpoint', endpoint],
      cwd,
      { AWS_EC2_METADATA_DISABLED: 'true' },
    );
    await cli.waitFor('Provisioning the SQS queues');
    // The CLI is connected and waiting on the endpoint.
    await new Promise<void>((resolve) => (sockets.size > 0 ? resolve() : server?.once('connection', () => resolve())));
    cli.write(KEYS.CTRL_C);

    expect(await cli.exited, cli.screen()).toBe(130);
    expect(flat(cli.screen())).toContain(
      `Cancelled during provisioning; the queues created before it stay, and running it again creates the rest. The worker is in ${join(cwd, 'w')}; to provision it later: cd w && npm run be-worker -- provision --endpoint ${endpoint}`,
    );
    expect(cli.screen()).toContain('Next steps:');
    expect(existsSync(join(cwd, 'w', 'package.json'))).toBe(true);
  });
});

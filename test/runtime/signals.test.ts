// onStopSignals in a process of its own (it listens for signals and exits): one Ctrl-C that arrives
// several times is one graceful stop; a second Ctrl-C later forces the exit.
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/process.ts';

const SCRIPT = `
import { onStopSignals } from ${JSON.stringify(join(REPO, 'templates/worker/src/runtime/signals.ts'))};
const log = {
  info: (fields, message) => console.log(message, fields.signal),
  warn: (_fields, message) => console.log(message),
};
onStopSignals(log, {
  // A stop that takes a while, as one with a task in flight does.
  stop: () => new Promise((resolve) => setTimeout(() => { console.log('stopped'); process.exit(0); resolve(); }, 1500)),
  force: async () => console.log('forced'),
});
console.log('ready');
setInterval(() => {}, 1000);
`;

/** The process, once listening (in an object: a subprocess is a promise, and would be awaited). */
async function started() {
  const child = execa('node', ['--input-type=module', '-e', SCRIPT], { reject: false, all: true });
  await new Promise<void>((resolve) => child.stdout?.on('data', (data) => String(data).includes('ready') && resolve()));
  return { child };
}

describe('stop signals', () => {
  it('take one Ctrl-C that reaches the process several times at once as one graceful stop', async () => {
    const { child } = await started();
    // As a terminal's Ctrl-C, forwarded again by npm and by node --watch.
    for (let echo = 0; echo < 3; echo++) child.kill('SIGINT');
    const { exitCode, all } = await child;
    expect(all).toContain('stopped');
    expect(all).not.toContain('forced');
    expect(exitCode).toBe(0);
  });

  it('take a second Ctrl-C a moment later as the order to exit at once, with 130', async () => {
    const { child } = await started();
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 600));
    child.kill('SIGINT');
    const { exitCode, all } = await child;
    expect(all).toContain('forced');
    expect(all).not.toContain('stopped');
    expect(exitCode).toBe(130);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'take %s (a closed terminal, a supervisor) as a graceful stop, and say so',
    async (signal) => {
      const { child } = await started();
      child.kill(signal);
      const { exitCode, all } = await child;
      expect(all).toContain(`shutting down ${signal}`);
      expect(all).toContain('stopped');
      expect(exitCode).toBe(0);
    },
  );

  it.each([
    ['SIGHUP', 129],
    ['SIGTERM', 143],
  ] as const)('take a second %s a moment later as the order to exit at once, with %i', async (signal, code) => {
    const { child } = await started();
    child.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 600));
    child.kill(signal);
    const { exitCode, all } = await child;
    expect(all).toContain('forced');
    expect(exitCode).toBe(code);
  });
});

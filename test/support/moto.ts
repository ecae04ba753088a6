// moto's server standing in for AWS (EventBridge Scheduler, IAM, STS, SQS) in the tests that
// provision schedules: run with the default python3, which has moto (the image's Python 3.11;
// `.ci/run` checks it). A machine without it fails with one sentence saying so, not a time-out.
import { execa } from 'execa';
import { freePort, waitFor } from './process.ts';

export interface MotoServer {
  endpoint: string;
  stop(): void;
}

export async function startMoto(): Promise<MotoServer> {
  const check = await execa('python3', ['-c', 'import moto.server'], { reject: false });
  if (check.exitCode !== 0) {
    throw new Error(
      `python3 cannot import moto (${check.stderr.trim().split('\n').at(-1) || check.exitCode}), and this test runs moto's server as its AWS: install moto 5.2 for the default python3 (pip install 'moto[server]'), or run .ci/run, which says what is missing.`,
    );
  }
  const port = await freePort();
  const server = execa('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { reject: false });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto', async () => ((await fetch(`${endpoint}/moto-api/`)).ok ? true : undefined), 30_000);
  return { endpoint, stop: () => server.kill() };
}

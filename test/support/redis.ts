// A real redis-server (Debian's) for one test file, on a free port, with nothing saved to disk.
import { execa, type ResultPromise } from 'execa';
import { freePort, waitFor } from './process.ts';
import { requireTools } from './tools.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** Runs redis-cli against it: `await redis.cli('GET', key)` is the reply as text. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  await requireTools(['redis-server', 'redis-cli']);
  const port = await freePort();
  const server: ResultPromise = execa('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    reject: false,
  });
  const cli = async (...args: string[]) =>
    String((await execa('redis-cli', ['-p', String(port), '--raw', ...args], { reject: false })).stdout);
  await waitFor('redis-server', async () => ((await cli('PING')) === 'PONG' ? true : undefined));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    cli,
    async stop() {
      server.kill('SIGKILL');
      await server;
    },
  };
}

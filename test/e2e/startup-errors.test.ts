// Every start-up mistake a user makes with a generated worker (all integrations on) ends the same
// way: one line on stderr naming the variable (or the thing) and the fix, no stack trace, exit 1.
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, noAwsEnv, runGrouped } from '../support/process.ts';

const MINUTES = 60_000;
/** The payload bucket a worker with large-payloads needs outside env local (set where the mistake is another). */
const BUCKET = 'prod-all-on-large-payloads';
let worker: string;
let home: string;
let busyPort: number;
let blocker: Server;
let emptySqs: FauxqsServer;
let nowhere: string;

type Entry = 'start' | 'dev' | 'send';
interface Mistake {
  what: string;
  entry: Entry;
  /** Variables for this run; undefined removes one of the defaults. */
  env: () => Record<string, string | undefined>;
  /** What the line must name. */
  names: string[];
}

const mistakes: Mistake[] = [
  { what: 'HTTP_PORT in use', entry: 'start', env: () => ({ HTTP_PORT: String(busyPort) }), names: ['HTTP_PORT'] },
  { what: 'HTTP_PORT in use', entry: 'dev', env: () => ({ HTTP_PORT: String(busyPort) }), names: ['HTTP_PORT'] },
  {
    what: 'HTTP_PORT in use, with WORKER_PROCESSES=2',
    entry: 'start',
    env: () => ({ HTTP_PORT: String(busyPort), WORKER_PROCESSES: '2' }),
    names: ['HTTP_PORT'],
  },
  {
    what: 'WORKER_CONCURRENCY=abc',
    entry: 'dev',
    env: () => ({ WORKER_CONCURRENCY: 'abc' }),
    names: ['WORKER_CONCURRENCY'],
  },
  {
    what: 'WORKER_CONCURRENCY=abc',
    entry: 'start',
    env: () => ({ WORKER_CONCURRENCY: 'abc' }),
    names: ['WORKER_CONCURRENCY'],
  },
  { what: 'LOG_LEVEL=loud', entry: 'start', env: () => ({ LOG_LEVEL: 'loud' }), names: ['LOG_LEVEL'] },
  { what: 'AWS_REGION=us-west1', entry: 'start', env: () => ({ AWS_REGION: 'us-west1' }), names: ['AWS_REGION'] },
  {
    what: 'HTTP_HOST not of this machine',
    entry: 'start',
    env: () => ({ HTTP_HOST: '203.0.113.7' }),
    names: ['HTTP_HOST'],
  },
  {
    what: 'OTEL_EXPORTER_OTLP_ENDPOINT without a scheme',
    entry: 'start',
    env: () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }),
    names: ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://'],
  },
  {
    what: 'RATELIMIT_BACKEND=redis without REDIS_URL',
    entry: 'start',
    env: () => ({ RATELIMIT_BACKEND: 'redis' }),
    names: ['REDIS_URL'],
  },
  {
    what: 'REDIS_URL without a scheme',
    entry: 'start',
    env: () => ({ RATELIMIT_BACKEND: 'redis', REDIS_URL: 'localhost:6379' }),
    names: ['REDIS_URL', 'redis://'],
  },
  {
    what: 'RATELIMIT_BACKEND=http without RATELIMIT_URL',
    entry: 'start',
    env: () => ({ RATELIMIT_BACKEND: 'http' }),
    names: ['RATELIMIT_URL'],
  },
  {
    what: 'a SENTRY_DSN without its key',
    entry: 'start',
    env: () => ({ SENTRY_DSN: 'https://o1.ingest.sentry.io/42' }),
    names: ['SENTRY_DSN'],
  },
  {
    what: 'FLUENT_HOST with a port',
    entry: 'start',
    env: () => ({ FLUENT_HOST: 'fluentd:24224' }),
    names: ['FLUENT_HOST', 'FLUENT_PORT'],
  },
  { what: 'VAULT_ADDR not a URL', entry: 'start', env: () => ({ VAULT_ADDR: 'vault' }), names: ['VAULT_ADDR'] },
  {
    what: 'Vault not running',
    entry: 'start',
    env: () => ({ VAULT_ADDR: nowhere, VAULT_TOKEN: 's.secret', VAULT_SECRETS: 'DB=secret/shop#db' }),
    names: ['VAULT_ADDR'],
  },
  {
    what: 'SQS_ENDPOINT without a scheme',
    entry: 'start',
    env: () => ({ SQS_ENDPOINT: 'localhost:4566' }),
    names: ['SQS_ENDPOINT', 'http://'],
  },
  {
    what: 'nothing at SQS_ENDPOINT',
    entry: 'start',
    env: () => ({}),
    names: ['SQS_ENDPOINT', 'npm run dev'],
  },
  {
    what: 'nothing at SQS_ENDPOINT, with WORKER_PROCESSES=2',
    entry: 'start',
    env: () => ({ WORKER_PROCESSES: '2' }),
    names: ['SQS_ENDPOINT', 'npm run dev'],
  },
  {
    what: 'APP_ENV=prod without AWS credentials',
    entry: 'start',
    env: () => ({ APP_ENV: 'prod', SQS_ENDPOINT: undefined, LARGE_PAYLOAD_BUCKET: BUCKET }),
    names: ['AWS credentials', 'aws sso login', 'AWS_PROFILE'],
  },
  {
    what: 'APP_ENV=prod without LARGE_PAYLOAD_BUCKET',
    entry: 'start',
    env: () => ({ APP_ENV: 'prod', SQS_ENDPOINT: emptySqs.address }),
    names: ['LARGE_PAYLOAD_BUCKET', 'be-worker provision --env prod'],
  },
  {
    what: 'a queue missing',
    entry: 'start',
    env: () => ({ APP_ENV: 'prod', SQS_ENDPOINT: emptySqs.address, LARGE_PAYLOAD_BUCKET: BUCKET }),
    names: ['"prod-all-on-add" does not exist', 'npm run be-worker -- provision --env prod'],
  },
  {
    what: 'a queue missing, with WORKER_PROCESSES=2',
    entry: 'start',
    env: () => ({
      APP_ENV: 'prod',
      SQS_ENDPOINT: emptySqs.address,
      WORKER_PROCESSES: '2',
      LARGE_PAYLOAD_BUCKET: BUCKET,
    }),
    names: ['"prod-all-on-add" does not exist', 'npm run be-worker -- provision --env prod'],
  },
  {
    what: '`npm run send` with dev stopped',
    entry: 'send',
    env: () => ({}),
    names: ['npm run dev'],
  },
  {
    what: 'npm run dev in another APP_ENV',
    entry: 'dev',
    env: () => ({ APP_ENV: 'prod' }),
    names: ['APP_ENV', 'npm start'],
  },
];

const commands: Record<Entry, string[]> = {
  start: ['run', '--silent', 'start'],
  dev: ['run', '--silent', 'dev'],
  send: ['run', '--silent', 'send', '--', 'add', '2', '3'],
};

describe('a start-up mistake', () => {
  beforeAll(async () => {
    worker = inject('allOnWorker');
    home = await mkdtemp(join(tmpdir(), 'cbw-home-'));
    busyPort = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(busyPort, '0.0.0.0', resolve));
    emptySqs = await startFauxqs({ port: 0, logger: false });
    nowhere = `http://127.0.0.1:${await freePort()}`;
    const built = await execa('npm', ['run', 'build'], { cwd: worker, reject: false, all: true });
    expect(built.exitCode, built.all).toBe(0);
  }, 2 * MINUTES);

  afterAll(async () => {
    blocker?.close();
    await emptySqs?.stop();
  });

  it.each(mistakes)('$what (npm run $entry): one line naming it, no stack, exit 1', async ({ entry, env, names }) => {
    const variables: Record<string, string | undefined> = {
      // Nothing of this machine's: no AWS credentials, a local SQS where none runs.
      ...noAwsEnv(home),
      HTTP_PORT: String(await freePort()),
      SQS_ENDPOINT: nowhere,
      ...env(),
    };
    const result = await runGrouped('npm', commands[entry], {
      cwd: worker,
      env: Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
      extendEnv: false,
    });
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    for (const name of names) expect(result.stderr).toContain(name);
    expect(result.stderr).not.toContain('    at ');
    expect(result.exitCode).toBe(1);
  });
});

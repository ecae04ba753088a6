// An integration's libraries are imported only once its settings switch it on: a worker generated
// with every integration, none switched on, loads none of them (each costs 10-50 MB of resident
// memory), and one switched on loads its own. The modules a process loads are recorded by a module
// hook (record-imports.ts), which sees ES modules and CommonJS alike.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { freePort, REPO, tempDir } from '../support/process.ts';

/**
 * The integrations' libraries: tracing's two largest for OpenTelemetry (@opentelemetry/api aside:
 * prom-client, which every worker loads, loads it too).
 */
const LIBRARIES = [
  '@sentry/node',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  'fluent-logger',
  'ioredis',
  'rate-limiter-flexible',
  '@aws-sdk/client-s3',
];

/** The libraries that making the all-on worker's integrations loads, with these settings. */
async function librariesLoaded(env: Record<string, string>): Promise<string[]> {
  const log = join(await tempDir(), 'imports');
  const recorder = pathToFileURL(join(REPO, 'test', 'support', 'record-imports.ts')).href;
  const run = await execa(
    'node',
    [`--import=${recorder}`, join(REPO, 'test', 'support', 'load-integrations.ts'), inject('allOnWorker')],
    // Only these settings: none of the integrations' from the environment of the test run.
    {
      env: { PATH: process.env.PATH ?? '', IMPORTS_LOG: log, BE_WORKER_USER: 'lazy', ...env },
      extendEnv: false,
      reject: false,
    },
  );
  expect(run.exitCode, run.stderr).toBe(0);
  const urls = (await readFile(`${log}.primary`, 'utf8')).split('\n');
  return LIBRARIES.filter((library) => urls.some((url) => url.includes(`/node_modules/${library}/`)));
}

describe("a worker loads an integration's libraries only when its settings switch it on", () => {
  it('loads none of them with every integration switched off', async () => {
    // APP_ENV=local switches large-payloads on, but its S3 client waits for the first large body.
    expect(await librariesLoaded({})).toEqual([]);
  });

  it('loads those of each integration switched on, and only those', async () => {
    // Unused ports: the integrations start as they would, their connections fail unnoticed.
    const port = await freePort();
    const redis = { REDIS_URL: `redis://127.0.0.1:${port}` };
    expect(await librariesLoaded({ SENTRY_DSN: `http://key@127.0.0.1:${port}/1` })).toEqual(['@sentry/node']);
    expect(await librariesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` })).toEqual([
      '@opentelemetry/sdk-trace',
      '@opentelemetry/exporter-trace-otlp-http',
    ]);
    expect(await librariesLoaded({ FLUENT_HOST: '127.0.0.1', FLUENT_PORT: String(port) })).toEqual(['fluent-logger']);
    // REDIS_URL switches idempotency on; the ratelimit's redis backend adds its limiter.
    expect(await librariesLoaded(redis)).toEqual(['ioredis']);
    expect(await librariesLoaded({ ...redis, RATELIMIT_BACKEND: 'redis' })).toEqual([
      'ioredis',
      'rate-limiter-flexible',
    ]);
  }, 60_000);
});

// The generated worker on a Node.js older than its engines (>=22.18): each npm script that runs it
// says so in one sentence before anything else loads, instead of ERR_UNKNOWN_FILE_EXTENSION ".ts"
// (22.0–22.17) or "Map.groupBy is not a function" (vitest on 20).
import { delimiter, dirname } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { nodeBinary } from '../support/node-binaries.ts';
import { freePort, waitFor } from '../support/process.ts';

const MINUTES = 60_000;
const versions = ['22.12.0', '20'];
const bins = new Map<string, string>();

describe('a generated worker on an old Node.js', () => {
  beforeAll(async () => {
    for (const version of versions) bins.set(version, dirname(await nodeBinary(version)));
  }, 5 * MINUTES);

  it.each(versions.flatMap((version) => ['dev', 'send', 'start', 'test'].map((script) => [script, version] as const)))(
    '`npm run %s` on Node %s says which Node it needs, found and how to get it, and exits 2',
    async (script, version) => {
      const bin = bins.get(version) ?? '';
      const result = await execa('npm', ['run', '--silent', script], {
        cwd: inject('allOnWorker'),
        env: { PATH: `${bin}${delimiter}${process.env.PATH}` },
        reject: false,
      });
      const found = (await execa(`${bin}/node`, ['--version'])).stdout;
      expect(found.startsWith(`v${version}`)).toBe(true);
      expect(result.stderr).toBe(
        `all-on needs Node.js 22.18 or newer and this is ${found}: install Node.js 24 LTS (nvm install 24, or https://nodejs.org) and run it again.`,
      );
      expect(result.stdout).toBe('');
      expect(result.exitCode).toBe(2);
    },
  );
});

describe('a generated worker on the oldest Node.js it supports', () => {
  it(
    '`npm run dev` on Node 22.18.0 starts the local SQS and the worker, and prints no warning',
    async () => {
      const bin = dirname(await nodeBinary('22.18.0'));
      const httpPort = String(await freePort());
      const env = {
        PATH: `${bin}${delimiter}${process.env.PATH}`,
        SQS_ENDPOINT: `http://localhost:${await freePort()}`,
        HTTP_PORT: httpPort,
        BE_WORKER_USER: 'oldest',
      };
      // Its own process group, signalled as a terminal's Ctrl-C signals one.
      const dev = execa('npm', ['run', '--silent', 'dev'], {
        cwd: inject('allOnWorker'),
        env,
        reject: false,
        all: true,
        detached: true,
      });
      try {
        await waitFor(
          'the dev worker to be ready',
          async () =>
            (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok ? true : undefined,
          60_000,
        );
      } finally {
        process.kill(-(dev.pid ?? 0), 'SIGINT');
      }
      const { stderr, all } = await dev;
      expect(all).toContain('worker started');
      // node:sqlite (the local SQS keeps its queues there) is experimental on Node 22, which says so on every start.
      expect(stderr).not.toMatch(/Warning/);
    },
    3 * MINUTES,
  );
});

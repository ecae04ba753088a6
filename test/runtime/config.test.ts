import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { availableCpus, coreEnvSchema, parseEnv } from '../../templates/worker/src/runtime/config.ts';
import { ConfigError } from '../../templates/worker/src/runtime/errors.ts';

const schema = z.object({ ...coreEnvSchema({ region: 'eu-west-1' }), DATABASE_URL: z.url() });

describe('parseEnv', () => {
  it('applies the defaults of DESIGN §4', () => {
    const config = parseEnv(schema, { DATABASE_URL: 'postgres://db/x', BE_WORKER_USER: 'ann' });
    expect(config).toMatchObject({
      APP_ENV: 'local',
      BE_WORKER_USER: 'ann',
      AWS_REGION: 'eu-west-1',
      WORKER_CONCURRENCY: 10,
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: 8080,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_SECONDS: 30,
    });
    expect(config.SQS_ENDPOINT).toBeUndefined();
  });

  it('coerces numbers and treats an empty variable as unset', () => {
    const config = parseEnv(schema, { DATABASE_URL: 'postgres://db/x', WORKER_CONCURRENCY: '25', HTTP_PORT: '' });
    expect(config.WORKER_CONCURRENCY).toBe(25);
    expect(config.HTTP_PORT).toBe(8080);
  });

  it('names every bad or missing variable and says whether it is set, never its value', () => {
    let error: unknown;
    try {
      parseEnv(schema, { WORKER_CONCURRENCY: 'lots', APP_ENV: 'Prod', SQS_ENDPOINT: 'sqs.internal' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/WORKER_CONCURRENCY: .*\(it is set; its value is not shown\)/);
    expect(message).toMatch(/APP_ENV: .*\(it is set; its value is not shown\)/);
    expect(message).toMatch(/SQS_ENDPOINT: .*\(it is set; its value is not shown\)/);
    expect(message).toMatch(/DATABASE_URL: .*\(it is not set\)/);
    for (const value of ['lots', 'Prod', 'sqs.internal']) expect(message).not.toContain(value);
  });

  it('says it all on one line, with what each variable must be', () => {
    const message = (() => {
      try {
        parseEnv(schema, { DATABASE_URL: 'postgres://db/x', WORKER_CONCURRENCY: 'abc', HTTP_PORT: '99999' });
      } catch (caught) {
        return (caught as Error).message;
      }
    })();
    expect(message).not.toContain('\n');
    expect(message).toContain('WORKER_CONCURRENCY: a whole number from 1 to 1000 (it is set; its value is not shown)');
    expect(message).toContain('HTTP_PORT: a whole number from 0 to 65535');
  });

  it.each([
    ['SQS_ENDPOINT', 'localhost:4566'],
    ['AWS_REGION', 'us-west1'],
  ])('refuses %s=%s, which passes for a URL or a region but fails far from its variable', (name, value) => {
    expect(() => parseEnv(schema, { DATABASE_URL: 'postgres://db/x', [name]: value })).toThrow(
      new RegExp(`${name}: .*\\(it is set; its value is not shown\\)`),
    );
  });

  it('never prints a secret that fails its check (a Vault-sourced DATABASE_URL, a malformed SENTRY_DSN)', () => {
    const password = 'pw-7Hq2ZxS3cr3t';
    const key = 'f00dfacecafe4b1d9e8c7a6b5c4d3e2f';
    const withDsn = schema.extend({ SENTRY_DSN: z.url().optional() });
    let message = '';
    try {
      parseEnv(withDsn, {
        DATABASE_URL: `postgres://app:${password}@db host:5432/shop`,
        SENTRY_DSN: `https//${key}@o1.ingest.sentry.io/42`,
      });
    } catch (caught) {
      message = (caught as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('SENTRY_DSN');
    expect(message).not.toContain(password);
    expect(message).not.toContain(key);
    expect(message).not.toContain('postgres://');
  });

  it('binds the HTTP server to every interface by default; HTTP_HOST narrows it', () => {
    const base = { DATABASE_URL: 'postgres://db/x' };
    expect(parseEnv(schema, base).HTTP_HOST).toBe('0.0.0.0');
    expect(parseEnv(schema, { ...base, HTTP_HOST: '' }).HTTP_HOST).toBe('0.0.0.0');
    expect(parseEnv(schema, { ...base, HTTP_HOST: '127.0.0.1' }).HTTP_HOST).toBe('127.0.0.1');
    expect(() => parseEnv(schema, { ...base, HTTP_HOST: '  ' })).toThrow(/HTTP_HOST/);
  });
});

describe('ETA_HORIZON_DAYS', () => {
  const parse = (value?: string) =>
    parseEnv(schema, { DATABASE_URL: 'postgres://db/x', ...(value === undefined ? {} : { ETA_HORIZON_DAYS: value }) });

  it('is a year by default, and takes whole days from 1 to 36,500', () => {
    expect(parse().ETA_HORIZON_DAYS).toBe(365);
    expect(['1', '7', '36500'].map((value) => parse(value).ETA_HORIZON_DAYS)).toEqual([1, 7, 36_500]);
  });

  it.each(['0', '1.5', '36501', 'forever'])('refuses %s, naming the variable', (value) => {
    expect(() => parse(value)).toThrow(/ETA_HORIZON_DAYS: a whole number from 1 to 36500/);
  });
});

describe('RECEIVE_WAIT_SECONDS', () => {
  const parse = (value?: string) =>
    parseEnv(schema, {
      DATABASE_URL: 'postgres://db/x',
      ...(value === undefined ? {} : { RECEIVE_WAIT_SECONDS: value }),
    });

  it('is the long poll of 10 s by default, and takes whole seconds from 1 to 10', () => {
    expect(parse().RECEIVE_WAIT_SECONDS).toBe(10);
    expect(parse('').RECEIVE_WAIT_SECONDS).toBe(10);
    expect(['1', '3', '10'].map((value) => parse(value).RECEIVE_WAIT_SECONDS)).toEqual([1, 3, 10]);
  });

  // 0 would poll SQS without a pause; above 10, an open poll would outlast the stop's deadline.
  it.each(['0', '2.5', '11', '20', 'long'])('refuses %s, naming the variable', (value) => {
    expect(() => parse(value)).toThrow(/RECEIVE_WAIT_SECONDS: a whole number from 1 to 10/);
  });
});

describe('WORKER_PROCESSES=auto', () => {
  /** A reader over fake cgroup files: a path not given reads as missing. */
  const files =
    (contents: Record<string, string>) =>
    (path: string): string | undefined =>
      contents[path];
  const cpus = (contents: Record<string, string>, parallelism = 8) =>
    availableCpus({ readFile: files(contents), parallelism: () => parallelism });

  it('is cgroup v2 cpu.max quota ÷ period, rounded up', () => {
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' })).toBe(2);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' })).toBe(2);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '50000 100000' })).toBe(1);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '700000 100000' })).toBe(7);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '1000 1000000' })).toBe(1);
  });

  it('is cgroup v1 cfs_quota_us ÷ cfs_period_us, rounded up', () => {
    const v1 = (quota: string, period = '100000') => ({
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': `${quota}\n`,
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': `${period}\n`,
    });
    expect(cpus(v1('300000'))).toBe(3);
    expect(cpus(v1('250000'))).toBe(3);
    expect(cpus(v1('10000', '50000'))).toBe(1);
    expect(
      cpus({
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '400000',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
      }),
    ).toBe(4);
  });

  it('is the CPUs this process may run on with no quota, or a quota beyond them', () => {
    expect(cpus({}, 6)).toBe(6);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': 'max 100000' }, 3)).toBe(3);
    expect(
      cpus({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }, 5),
    ).toBe(5);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '1600000 100000' }, 4)).toBe(4);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': 'garbage' }, 2)).toBe(2);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '0 100000' }, 2)).toBe(2);
  });

  it('is at least 1 and at most 64', () => {
    expect(cpus({}, 0)).toBe(1);
    expect(cpus({}, 128)).toBe(64);
    expect(cpus({ '/sys/fs/cgroup/cpu.max': '9600000 100000' }, 256)).toBe(64);
  });

  it('parses to a number, as a number does; anything else is refused', () => {
    const auto = parseEnv(schema, { DATABASE_URL: 'postgres://db/x', WORKER_PROCESSES: 'auto' });
    expect(auto.WORKER_PROCESSES).toBe(availableCpus());
    expect(auto.WORKER_PROCESSES).toBeGreaterThanOrEqual(1);
    expect(auto.WORKER_PROCESSES).toBeLessThanOrEqual(64);
    expect(parseEnv(schema, { DATABASE_URL: 'postgres://db/x', WORKER_PROCESSES: '3' }).WORKER_PROCESSES).toBe(3);
    expect(parseEnv(schema, { DATABASE_URL: 'postgres://db/x' }).WORKER_PROCESSES).toBe(1);
    for (const bad of ['0', '65', 'all', '1.5'])
      expect(() => parseEnv(schema, { DATABASE_URL: 'postgres://db/x', WORKER_PROCESSES: bad })).toThrow(
        /WORKER_PROCESSES: a whole number from 1 to 64, or auto/,
      );
  });
});

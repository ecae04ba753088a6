import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coreEnvSchema, parseEnv } from '../../templates/worker/src/runtime/config.ts';
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

  it('names every bad or missing variable, with what it got', () => {
    let error: unknown;
    try {
      parseEnv(schema, { WORKER_CONCURRENCY: 'lots', APP_ENV: 'Prod', SQS_ENDPOINT: 'localhost' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/WORKER_CONCURRENCY: .*\(got "lots"\)/);
    expect(message).toMatch(/APP_ENV: .*\(got "Prod"\)/);
    expect(message).toMatch(/SQS_ENDPOINT: .*\(got "localhost"\)/);
    expect(message).toMatch(/DATABASE_URL: .*\(it is not set\)/);
  });
});

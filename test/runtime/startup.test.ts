import { describe, expect, it } from 'vitest';
import { ConfigError, QueueNotFoundError } from '../../templates/worker/src/runtime/errors.ts';
import {
  describeSqsTarget,
  explainSqsError,
  explainStartupError,
  listenError,
  sqsTarget,
} from '../../templates/worker/src/runtime/startup.ts';

const config = (APP_ENV: string, SQS_ENDPOINT?: string) => ({ APP_ENV, AWS_REGION: 'us-west-1', SQS_ENDPOINT });
const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('the SQS a process uses', () => {
  it("is npm run dev's local SQS for APP_ENV=local, and says so", () => {
    const target = sqsTarget(config('local'), {});
    expect(target.endpoint).toBe('http://localhost:4566');
    expect(describeSqsTarget(target)).toBe(
      'SQS at http://localhost:4566 (APP_ENV=local: the local SQS of npm run dev)',
    );
  });

  it('is AWS for any other APP_ENV, and says so', () => {
    const target = sqsTarget(config('dev'), {});
    expect(target.endpoint).toBeUndefined();
    expect(describeSqsTarget(target)).toBe(
      'SQS in AWS region us-west-1 (APP_ENV=dev: AWS, credentials from the default chain)',
    );
  });

  it('is SQS_ENDPOINT when the environment sets it, in any APP_ENV, and says where it came from', () => {
    const endpoint = 'http://127.0.0.1:9324';
    for (const env of ['local', 'prod']) {
      const target = sqsTarget(config(env, endpoint), { SQS_ENDPOINT: endpoint });
      expect(target.endpoint).toBe(endpoint);
      expect(describeSqsTarget(target)).toBe(`SQS at ${endpoint} (SQS_ENDPOINT from the environment)`);
    }
  });
});

describe('start-up failures, one sentence with the fix', () => {
  const local = sqsTarget(config('local'), {});
  const aws = sqsTarget(config('prod'), {});

  it('says the local SQS is not running and how to start it', () => {
    const refused = errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:4566');
    expect(explainSqsError(refused, local)).toBe(
      'The local SQS at http://localhost:4566 is not running (ECONNREFUSED): start `npm run dev` (or `docker compose up`) in another terminal, then run this again',
    );
  });

  it('names the fix for a queue missing in AWS, and on the local SQS', () => {
    expect(explainSqsError(new QueueNotFoundError('prod-orders'), aws)).toBe(
      'SQS queue "prod-orders" does not exist in AWS region us-west-1: create it and its dead-letter queue with `npm run be-worker -- provision --env prod` (if the name looks wrong, check APP_ENV and AWS_REGION)',
    );
    expect(explainSqsError(new QueueNotFoundError('ann-local-orders'), local)).toMatch(/`npm run dev` creates/);
  });

  it('says how to log in when AWS has no credentials, as be-worker provision does', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(explainSqsError(missing, aws)).toBe(
      'No usable AWS credentials for APP_ENV=prod (Could not load credentials from any providers). Log in (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run locally with APP_ENV=local (npm run dev)',
    );
  });

  it('names AWS_REGION when AWS cannot be reached', () => {
    expect(explainSqsError(errno('ENOTFOUND'), aws)).toMatch(/^Cannot reach SQS in AWS region us-west-1 .*AWS_REGION/);
  });

  it('names HTTP_PORT when the port is taken or privileged, HTTP_HOST when it is not this machine', () => {
    expect(listenError(errno('EADDRINUSE'), '0.0.0.0', 8080).message).toMatch(
      /^HTTP_PORT 8080 is in use by another process .*: stop it, or set HTTP_PORT to a free port$/,
    );
    expect(listenError(errno('EACCES'), '0.0.0.0', 80).message).toMatch(/^HTTP_PORT 80 needs privileges/);
    expect(listenError(errno('EADDRNOTAVAIL'), '10.9.9.9', 8080).message).toMatch(/^HTTP_HOST 10\.9\.9\.9 is not/);
  });

  it('keeps what it does not know to its first line', () => {
    const error = new Error('something odd\n    at somewhere (file.ts:1:1)');
    expect(explainStartupError(error, local, ' (hint)')).toBe('something odd (hint)');
    expect(explainStartupError(new ConfigError('X: bad'), local, ' (hint)')).toBe('X: bad');
  });
});

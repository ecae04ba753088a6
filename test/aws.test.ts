// Where the queue commands (status, dlq) look for SQS, and how they say they cannot reach it.
import { describe, expect, it } from 'vitest';
import { awsError, defaultEndpoint } from '../src/aws.ts';
import { EnvironmentError } from '../src/errors.ts';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });

describe('defaultEndpoint', () => {
  it('env local: the local SQS of npm run dev, as the worker itself; --endpoint wins', () => {
    expect(defaultEndpoint('local')).toBe('http://localhost:4566');
    expect(defaultEndpoint('local', 'http://localhost:9324')).toBe('http://localhost:9324');
  });

  it('every other env: AWS, unless --endpoint is given', () => {
    expect(defaultEndpoint('prod')).toBeUndefined();
    expect(defaultEndpoint('dev', 'http://localhost:9324')).toBe('http://localhost:9324');
  });
});

describe('awsError on a network failure', () => {
  it('the local SQS of npm run dev not running: says to start it', () => {
    const error = awsError(refused, 'reading the queues', { region: 'us-west-1', endpoint: 'http://localhost:4566' });
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error.message).toBe(
      'No SQS answers at http://localhost:4566 (ECONNREFUSED) while reading the queues: start `npm run dev` in another terminal (it runs the local SQS there).',
    );
  });

  it('another endpoint: names it and the flag', () => {
    const error = awsError(refused, 'reading the queues', { region: 'us-west-1', endpoint: 'http://sqs.test:1' });
    expect(error.message).toBe(
      'No SQS answers at http://sqs.test:1 (ECONNREFUSED) while reading the queues: start that SQS, or fix --endpoint.',
    );
  });

  it('AWS itself: names the region', () => {
    const error = awsError(refused, 'reading the queues', { region: 'eu-west-9' });
    expect(error.message).toBe(
      "Cannot reach AWS in region eu-west-9 (ECONNREFUSED) while reading the queues: check the region and this machine's network.",
    );
  });
});

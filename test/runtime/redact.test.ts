import { describe, expect, it } from 'vitest';
import { redactUrls } from '../../templates/worker/src/runtime/redact.ts';
import { describeSqsTarget, explainStartupError, sqsTarget } from '../../templates/worker/src/runtime/startup.ts';

describe('URLs printed without their credentials', () => {
  it.each([
    ['http://svcuser:Pa55w0rdXYZ@sqs.internal:9324', 'http://***@sqs.internal:9324'],
    ['https://user@example.com/path?q=1', 'https://***@example.com/path?q=1'],
    ['redis://:s3cret@redis:6379/0', 'redis://***@redis:6379/0'],
    ['rediss://default:a@b@redis.example.com', 'rediss://***@redis.example.com'],
    ['http://a:b@h1 and https://c:d@h2/x', 'http://***@h1 and https://***@h2/x'],
    ['{"url":"http://u:p@h:1","mail":"me@example.com"}', '{"url":"http://***@h:1","mail":"me@example.com"}'],
  ])('%s → %s', (url, printed) => {
    expect(redactUrls(url)).toBe(printed);
  });

  it.each([
    'http://localhost:4566',
    'https://sqs.us-east-1.amazonaws.com/123/queue',
    'http://host/path/me@example.com',
    'mail me@example.com',
    'not a url',
    '',
  ])('leaves %s as it is', (text) => {
    expect(redactUrls(text)).toBe(text);
  });

  it('in the start-up line and the start-up errors that name SQS_ENDPOINT', () => {
    const endpoint = 'http://svcuser:Pa55w0rdXYZ@127.0.0.1:9324';
    for (const env of ['local', 'prod']) {
      const target = sqsTarget(
        { APP_ENV: env, AWS_REGION: 'us-west-1', SQS_ENDPOINT: endpoint },
        { SQS_ENDPOINT: endpoint },
      );
      expect(target.endpoint).toBe(endpoint);
      expect(describeSqsTarget(target)).toBe('SQS at http://***@127.0.0.1:9324 (SQS_ENDPOINT from the environment)');
      const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const unknown = new Error(`odd answer from ${endpoint}/queue`);
      for (const error of [refused, unknown]) {
        const sentence = explainStartupError(error, target);
        expect(sentence).toContain('http://***@127.0.0.1:9324');
        expect(sentence).not.toContain('Pa55w0rdXYZ');
        expect(sentence).not.toContain('svcuser');
      }
    }
  });
});

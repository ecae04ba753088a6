import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/integrations/ratelimit.ts';

describe('TokenBucket', () => {
  it('grants at most its saved-up second at once, then refills', async () => {
    const bucket = new TokenBucket(5);
    const signal = new AbortController().signal;
    expect(await bucket.acquire(10, signal)).toBe(5);
    const started = performance.now();
    expect(await bucket.acquire(10, signal)).toBeGreaterThanOrEqual(1);
    // Nothing was left: the grant had to wait for a token to refill (1/5 s).
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('takes back what was not received', async () => {
    const bucket = new TokenBucket(3);
    const signal = new AbortController().signal;
    expect(await bucket.acquire(3, signal)).toBe(3);
    bucket.release(2);
    expect(await bucket.acquire(3, signal)).toBe(2);
  });
});

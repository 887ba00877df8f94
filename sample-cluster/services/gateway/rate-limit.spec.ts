import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../kit/problem.ts';
import { TokenBuckets, tooManyRequests } from './rate-limit.ts';

/** How many keys the buckets hold: the memory bound is the point of the sweep, and nothing public shows it. */
const keyCount = (buckets: TokenBuckets) =>
  (buckets as unknown as { buckets: Map<string, unknown> }).buckets.size;

/** Take `n` tokens at one instant; the answers, in order. */
const takeMany = (buckets: TokenBuckets, key: string, n: number, now: number) =>
  Array.from({ length: n }, () => buckets.take(key, now));

describe('TokenBuckets', () => {
  it('allows a full burst at once, then refuses', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 5 });
    expect(takeMany(buckets, 'user:alice', 5, 0)).toEqual([0, 0, 0, 0, 0]);
    expect(buckets.take('user:alice', 0)).toBeGreaterThan(0);
  });

  it('refills at the configured rate as time passes', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 5 });
    takeMany(buckets, 'k', 5, 0);
    expect(buckets.take('k', 50)).toBeGreaterThan(0); // half a token
    expect(buckets.take('k', 100)).toBe(0); // one token after 100 ms
    expect(buckets.take('k', 100)).toBeGreaterThan(0);
    expect(takeMany(buckets, 'k', 3, 400)).toEqual([0, 0, 0]);
    expect(buckets.take('k', 400)).toBeGreaterThan(0);
  });

  it('never holds more than the burst, however long the key was idle', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 5 });
    takeMany(buckets, 'k', 5, 0);
    expect(takeMany(buckets, 'k', 5, 3_600_000)).toEqual([0, 0, 0, 0, 0]);
    expect(buckets.take('k', 3_600_000)).toBeGreaterThan(0);
  });

  it('says how many whole seconds to wait, at least one', () => {
    const slow = new TokenBuckets({ ratePerSecond: 0.5, burst: 1 });
    expect(slow.take('k', 0)).toBe(0);
    expect(slow.take('k', 0)).toBe(2);
    expect(slow.take('k', 1_000)).toBe(1); // half refilled: one more second
    expect(slow.take('k', 2_000)).toBe(0);

    const slower = new TokenBuckets({ ratePerSecond: 0.1, burst: 1 });
    slower.take('k', 0);
    expect(slower.take('k', 0)).toBe(10);
    expect(slower.take('k', 2_500)).toBe(8); // 0.25 refilled, 0.75 to go at 0.1/s: 7.5 s, rounded up

    const fast = new TokenBuckets({ ratePerSecond: 1_000, burst: 1 });
    fast.take('k', 0);
    expect(fast.take('k', 0)).toBe(1); // a millisecond away, but Retry-After counts whole seconds
  });

  it('keeps keys independent', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2 });
    takeMany(buckets, 'user:alice', 2, 0);
    expect(buckets.take('user:alice', 0)).toBeGreaterThan(0);
    expect(takeMany(buckets, 'user:bob', 2, 0)).toEqual([0, 0]);
    expect(buckets.take('client:loadgen', 0)).toBe(0);
  });

  it('uses the current time by default', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 0.001, burst: 1 });
    expect(buckets.take('k')).toBe(0);
    expect(buckets.take('k')).toBe(1_000);
  });

  it('sweeps refilled buckets when the key limit is reached, keeping those that still owe tokens', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2, maxKeys: 3 });
    buckets.take('a', 0);
    takeMany(buckets, 'b', 2, 0);
    buckets.take('c', 0);
    expect(keyCount(buckets)).toBe(3);
    // 1.5 s later a and c are full again (1 + 1.5 ≥ 2), b is not (0 + 1.5).
    expect(buckets.take('d', 1_500)).toBe(0);
    expect(keyCount(buckets)).toBe(2);
    // b's debt survived the sweep: 1.5 tokens, so one call passes and the next waits.
    expect(buckets.take('b', 1_500)).toBe(0);
    expect(buckets.take('b', 1_500)).toBe(1);
  });

  it('drops the oldest key when no bucket has refilled, so the key count stays bounded', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 2 });
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 0);
    expect(keyCount(buckets)).toBe(2);
    // a was forgotten: it starts again with a full bucket (the price of bounded memory).
    expect(buckets.take('a', 0)).toBe(0);
    // c was kept and is still empty.
    expect(buckets.take('c', 0)).toBe(1);
  });

  it('stays within the key limit under a flood of distinct keys', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) expect(buckets.take(`ip:10.0.${i >> 8}.${i & 255}`, i)).toBe(0);
    expect(keyCount(buckets)).toBeLessThanOrEqual(100);
  });
});

describe('tooManyRequests', () => {
  it('is a 429 problem with a Retry-After header and the wait as an extension', () => {
    const problem = tooManyRequests(7, 'user');
    expect(problem).toBeInstanceOf(HttpProblem);
    expect(problem.status).toBe(429);
    expect(problem.headers).toEqual({ 'retry-after': '7' });
    expect(problem.message).toBe('rate limit exceeded for this user; retry in 7 s');
    expect(problem.toBody('/api/timeline')).toEqual({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'rate limit exceeded for this user; retry in 7 s',
      instance: '/api/timeline',
      retryAfterSeconds: 7,
    });
  });

  it('carries the wait a bucket returned', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 0.25, burst: 1 });
    buckets.take('client:web', 0);
    const problem = tooManyRequests(buckets.take('client:web', 0), 'client');
    expect(problem.headers['retry-after']).toBe('4');
    expect(problem.message).toContain('this client');
  });
});

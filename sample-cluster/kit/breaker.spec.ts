import { describe, expect, it } from 'vitest';
import { BreakerOpenError, BreakerRegistry, type BreakerTransition } from './breaker.ts';

const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');

function registry(settings: Parameters<BreakerRegistry['setDefaults']>[0] = {}) {
  const breakers = new BreakerRegistry('gateway');
  breakers.setDefaults({
    volumeThreshold: 3,
    errorThresholdPercentage: 50,
    resetTimeoutMs: 200,
    timeoutMs: 100,
    consecutiveFailures: 1000,
    ...settings,
  });
  const transitions: BreakerTransition[] = [];
  breakers.onTransition((t) => transitions.push(t));
  return { breakers, transitions };
}

describe('EdgeBreaker', () => {
  it('opens after the failure rate passes the threshold, short-circuits, then heals through half-open', async () => {
    const { breakers, transitions } = registry();
    const b = breakers.forCallee('timeline');
    for (let i = 0; i < 3; i++) await expect(b.fire(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
    await expect(b.fire(ok)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(b.snapshot().counts.shortCircuited).toBe(1);
    await new Promise((r) => setTimeout(r, 260));
    expect(b.state).toBe('half-open');
    await expect(b.fire(ok)).resolves.toBe('ok');
    expect(b.state).toBe('closed');
    expect(transitions.map((t) => `${t.from}→${t.to}`)).toEqual([
      'closed→open',
      'open→half-open',
      'half-open→closed',
    ]);
    expect(transitions[0]!.breaker).toBe('gateway:timeline');
    breakers.shutdown();
  });

  it('opens after failures in a row even while the window is still mostly successes', async () => {
    const { breakers, transitions } = registry({ volumeThreshold: 1000, consecutiveFailures: 3 });
    const b = breakers.forCallee('timeline');
    for (let i = 0; i < 20; i++) await b.fire(ok);
    await expect(b.fire(fail)).rejects.toThrow();
    await expect(b.fire(ok)).resolves.toBe('ok');
    await expect(b.fire(fail)).rejects.toThrow();
    await expect(b.fire(fail)).rejects.toThrow();
    expect(b.state).toBe('closed');
    await expect(b.fire(fail)).rejects.toThrow();
    expect(b.state).toBe('open');
    expect(transitions.at(-1)?.reason).toBe('3 failures in a row');
    breakers.shutdown();
  });

  it('serves and counts the fallback', async () => {
    const { breakers } = registry();
    const b = breakers.forCallee('users');
    await expect(b.fire(fail, () => 'cached')).resolves.toBe('cached');
    const s = b.snapshot();
    expect(s.counts.fallback).toBe(1);
    expect(s.counts.failure).toBe(1);
    breakers.shutdown();
  });

  it('counts a slow call as a timeout', async () => {
    const { breakers } = registry({ timeoutMs: 20 });
    const b = breakers.forCallee('tweets');
    await expect(b.fire(() => new Promise((r) => setTimeout(r, 200)))).rejects.toThrow();
    expect(b.snapshot().counts.timeout).toBe(1);
    // One call, one error: a timeout is not counted a second time as a failure.
    expect(b.snapshot().errorPercentage).toBe(100);
    breakers.shutdown();
  });

  it('gives calls into auth a longer timeout: it hashes passwords by design', () => {
    const { breakers } = registry({});
    expect(breakers.forCallee('auth').snapshot().settings.timeoutMs).toBe(5_000);
    expect(breakers.forCallee('users').snapshot().settings.timeoutMs).toBe(100);
    breakers.shutdown();
  });

  it('stays open when pinned open, even after its reset timeout', async () => {
    const { breakers } = registry();
    const b = breakers.forCallee('timeline');
    b.forceOpen();
    expect(b.state).toBe('forced-open');
    await new Promise((r) => setTimeout(r, 300));
    expect(b.state).toBe('forced-open');
    await expect(b.fire(ok)).rejects.toBeInstanceOf(BreakerOpenError);
    b.reset();
    expect(b.state).toBe('closed');
    await expect(b.fire(ok)).resolves.toBe('ok');
    breakers.shutdown();
  });

  it('stays closed when pinned closed, whatever fails', async () => {
    const { breakers } = registry();
    const b = breakers.forCallee('timeline');
    b.forceClosed();
    for (let i = 0; i < 6; i++) await expect(b.fire(fail)).rejects.toThrow('down');
    expect(b.state).toBe('forced-closed');
    await expect(b.fire(ok)).resolves.toBe('ok');
    breakers.shutdown();
  });

  it('keeps its rolling counts and state when thresholds change', async () => {
    const { breakers } = registry({ volumeThreshold: 10 });
    const b = breakers.forCallee('timeline');
    for (let i = 0; i < 4; i++) await expect(b.fire(fail)).rejects.toThrow();
    expect(b.state).toBe('closed');
    b.configure({ volumeThreshold: 2 });
    expect(b.snapshot().counts.failure).toBe(4);
    expect(b.snapshot().settings.volumeThreshold).toBe(2);
    await expect(b.fire(fail)).rejects.toThrow();
    expect(b.state).toBe('open');
    expect(() => b.configure({ errorThresholdPercentage: 0 })).toThrow();
    breakers.shutdown();
  });

  it('reports latency percentiles and rate', async () => {
    const { breakers } = registry();
    const b = breakers.forCallee('tweets');
    for (let i = 0; i < 20; i++) await b.fire(() => new Promise((r) => setTimeout(() => r(i), 2)));
    const s = b.snapshot();
    expect(s.counts.success).toBe(20);
    expect(s.latencyMs.p50).toBeGreaterThanOrEqual(1);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
    expect(s.ratePerSecond).toBe(2);
    expect(breakers.find('gateway:tweets')).toBe(b);
    expect(breakers.find('other:tweets')).toBeUndefined();
    breakers.shutdown();
  });
});

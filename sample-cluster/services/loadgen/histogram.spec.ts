import { describe, expect, it } from 'vitest';
import { RollingHistogram } from './histogram.ts';

describe('RollingHistogram', () => {
  it('reports percentiles within 2% of the exact ones, from sub-millisecond to minutes', () => {
    for (const scale of [0.1, 1, 37, 250]) {
      const h = new RollingHistogram({ now: () => 0 });
      // 1..1000 scaled, shuffled order does not matter for a histogram.
      for (let i = 1; i <= 1000; i++) h.record(i * scale);
      const { count, max, values } = h.percentiles([0.5, 0.9, 0.99]);
      expect(count).toBe(1000);
      expect(max).toBe(1000 * scale);
      const [p50, p90, p99] = values as number[];
      expect(Math.abs(p50! - 500 * scale) / (500 * scale)).toBeLessThan(0.02);
      expect(Math.abs(p90! - 900 * scale) / (900 * scale)).toBeLessThan(0.02);
      expect(Math.abs(p99! - 990 * scale) / (990 * scale)).toBeLessThan(0.02);
    }
  });

  it('finds the tail of a skewed distribution', () => {
    const h = new RollingHistogram({ now: () => 0 });
    for (let i = 0; i < 980; i++) h.record(10);
    for (let i = 0; i < 20; i++) h.record(2_000);
    const s = h.summary();
    expect(s.p50).toBeCloseTo(10, 0);
    expect(s.p90).toBeCloseTo(10, 0);
    // 2% of the requests are slow: p99 lands among them.
    expect(Math.abs(s.p99! - 2_000) / 2_000).toBeLessThan(0.02);
    expect(s.max).toBe(2_000);
  });

  it('never reports a percentile above the largest value seen', () => {
    const h = new RollingHistogram({ now: () => 0 });
    h.record(123.4);
    expect(h.summary()).toMatchObject({ count: 1, p50: 123.4, p90: 123.4, p99: 123.4, max: 123.4 });
  });

  it('says null when nothing was recorded, and ignores nonsense values', () => {
    const h = new RollingHistogram({ now: () => 0 });
    h.record(Number.NaN);
    h.record(-5);
    expect(h.summary()).toEqual({ windowSeconds: 60, count: 0, p50: null, p90: null, p99: null, max: null });
  });

  it('forgets values older than the window', () => {
    let now = 1_000_000;
    const h = new RollingHistogram({ windowMs: 60_000, slots: 12, now: () => now });
    for (let i = 0; i < 100; i++) h.record(1_000);
    now += 30_000;
    for (let i = 0; i < 100; i++) h.record(10);
    expect(h.summary().count).toBe(200);
    expect(h.summary().max).toBe(1_000);
    // 65 s after the slow ones: only the fast ones (35 s old) are left.
    now += 35_000;
    const s = h.summary();
    expect(s.count).toBe(100);
    expect(s.max).toBe(10);
    expect(s.p99).toBeCloseTo(10, 0);
    now += 60_000;
    expect(h.summary().count).toBe(0);
  });

  it('reuses a slot after a full turn of the ring without mixing in old counts', () => {
    let now = 0;
    const h = new RollingHistogram({ windowMs: 1_200, slots: 12, now: () => now });
    h.record(500);
    now = 1_200; // the same ring position, one window later
    h.record(5);
    expect(h.summary()).toMatchObject({ count: 1, max: 5 });
  });
});

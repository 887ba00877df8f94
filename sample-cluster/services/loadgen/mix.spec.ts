import { describe, expect, it } from 'vitest';
import { pickAction } from './mix.ts';
import { TICK_ACTIONS, type TickAction } from './settings.ts';

/** Small deterministic PRNG (mulberry32) so the distribution test is reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('pickAction', () => {
  const mix = { post: 2, timeline: 5, profile: 2, follow: 1 };

  it('maps the draw onto the cumulative weights in a fixed order', () => {
    expect(pickAction(mix, 0)).toBe('post');
    expect(pickAction(mix, 0.19)).toBe('post');
    expect(pickAction(mix, 0.2)).toBe('timeline');
    expect(pickAction(mix, 0.69)).toBe('timeline');
    expect(pickAction(mix, 0.7)).toBe('profile');
    expect(pickAction(mix, 0.89)).toBe('profile');
    expect(pickAction(mix, 0.9)).toBe('follow');
    expect(pickAction(mix, 0.999999)).toBe('follow');
  });

  it('never picks an action whose weight is zero, even at the edges of the draw', () => {
    const onlyTimeline = { post: 0, timeline: 3, profile: 0, follow: 0 };
    for (const r of [0, 0.5, 0.9999999999]) expect(pickAction(onlyTimeline, r)).toBe('timeline');
    const noFollow = { post: 1, timeline: 1, profile: 1, follow: 0 };
    expect(pickAction(noFollow, 0.9999999999)).toBe('profile');
  });

  it('follows the weights over many draws', () => {
    const random = seeded(42);
    const counts: Record<TickAction, number> = { post: 0, timeline: 0, profile: 0, follow: 0 };
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[pickAction(mix, random())] += 1;
    for (const action of TICK_ACTIONS) expect(counts[action] / n).toBeCloseTo(mix[action] / 10, 2);
  });

  it('refuses a mix without a positive weight', () => {
    expect(() => pickAction({ post: 0, timeline: 0, profile: 0, follow: 0 }, 0.5)).toThrow(
      /no positive weight/,
    );
  });
});

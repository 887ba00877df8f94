import { describe, expect, it } from 'vitest';
import { TWEET_ID_PATTERN, TweetIdGenerator } from './tweet-id.ts';

describe('TweetIdGenerator', () => {
  it('encodes the time first, so ids of later milliseconds sort after earlier ones', () => {
    let now = Date.parse('2025-06-01T12:00:00.000Z');
    const ids = new TweetIdGenerator(() => now);
    const first = ids.next();
    now += 1;
    const second = ids.next();
    expect(first.id).toMatch(TWEET_ID_PATTERN);
    expect(first.time).toBe(Date.parse('2025-06-01T12:00:00.000Z'));
    expect(second.id > first.id).toBe(true);
  });

  it('lays the time out as the ULID spec does', () => {
    // The example of the reference implementation's README: ulid(1469918176385) starts "01ARYZ6S41".
    const { id } = new TweetIdGenerator(() => 1469918176385).next();
    expect(id.slice(0, 10)).toBe('01ARYZ6S41');
  });

  it('stays strictly increasing within one millisecond and when the clock steps back', () => {
    let now = 1_700_000_000_000;
    const ids = new TweetIdGenerator(() => now);
    const made = [ids.next(), ids.next(), ids.next()];
    now -= 5_000;
    made.push(ids.next(), ids.next());
    for (let i = 1; i < made.length; i++) expect(made[i]!.id > made[i - 1]!.id).toBe(true);
    // Times never go backwards either: createdAt follows the id.
    expect(made.map((m) => m.time)).toEqual(Array(5).fill(1_700_000_000_000));
  });
});

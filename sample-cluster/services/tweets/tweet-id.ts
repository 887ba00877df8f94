import { randomBytes } from 'node:crypto';

/** Crockford base32: no I, L, O, U, so ids read back unambiguously. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;

/** A ULID as the spec lays it out (48-bit ms time, 80 random bits); sorts as text by creation time. */
export { TWEET_ID_PATTERN } from '../../kit/identifiers.ts';

/**
 * Monotonic ULIDs (https://github.com/ulid/spec): ids made in the same millisecond, or after the
 * clock stepped back, increment the previous random part instead of drawing a new one, so the id
 * order is always the order in which tweets were accepted. Pagination (`before=<id>`) relies on it.
 */
export class TweetIdGenerator {
  private lastTime = 0;
  private lastRandom: number[] = [];
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** The id and the millisecond it encodes (the tweet's createdAt). */
  next(): { id: string; time: number } {
    let time = this.now();
    if (time <= this.lastTime) {
      time = this.lastTime;
      this.lastRandom = increment(this.lastRandom);
    } else {
      this.lastTime = time;
      this.lastRandom = [...randomBytes(RANDOM_CHARS)].map((b) => b & 31);
    }
    return { id: encodeTime(time) + this.lastRandom.map((d) => ALPHABET[d]).join(''), time };
  }
}

function encodeTime(time: number): string {
  let out = '';
  let rest = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** Add one to a base32 digit array; 2^80 ids in one millisecond cannot happen, so overflow is an error. */
function increment(digits: readonly number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i] = next[i]! + 1;
      return next;
    }
    next[i] = 0;
  }
  throw new Error('tweet id space for this millisecond is exhausted');
}

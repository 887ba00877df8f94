import { createHash } from 'node:crypto';
import type { Outbox } from '../../kit/outbox.ts';
import { conflict } from '../../kit/problem.ts';
import { transaction, type Database } from '../../kit/storage.ts';
import { TweetIdGenerator } from './tweet-id.ts';

export interface Tweet {
  id: string;
  author: string;
  text: string;
  createdAt: string;
}

interface TweetRow {
  id: string;
  author: string;
  text: string;
  created_at: string;
}

const toTweet = (row: TweetRow): Tweet => ({
  id: row.id,
  author: row.author,
  text: row.text,
  createdAt: row.created_at,
});

export const TWEET_POSTED = 'tweet.posted';
/** How long an Idempotency-Key is remembered; a retry after that makes a new tweet. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600_000;
/** Above every tweet id in sort order, so "before" can always be bound. */
const AFTER_ALL_IDS = '~';

function prepare(db: Database) {
  return {
    insert: db.prepare('INSERT INTO tweets (id, author, text, created_at) VALUES (?, ?, ?, ?)'),
    get: db.prepare('SELECT id, author, text, created_at FROM tweets WHERE id = ?'),
    getMany: db.prepare(
      'SELECT id, author, text, created_at FROM tweets WHERE id IN (SELECT value FROM json_each(?))',
    ),
    byAuthors: db.prepare(
      'SELECT id, author, text, created_at FROM tweets WHERE author IN (SELECT value FROM json_each(?)) AND id < ? ORDER BY id DESC LIMIT ?',
    ),
    findKey: db.prepare('SELECT fingerprint, tweet_id FROM idempotency_keys WHERE author = ? AND key = ?'),
    insertKey: db.prepare(
      'INSERT INTO idempotency_keys (author, key, fingerprint, tweet_id, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    purgeKeys: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
  };
}

/** Tweets, and the outbox events that announce them, in the service's own database. */
export class TweetStore {
  private readonly db: Database;
  private readonly outbox: Outbox;
  private readonly ids = new TweetIdGenerator();
  private readonly statements: ReturnType<typeof prepare>;

  constructor(db: Database, outbox: Outbox) {
    this.db = db;
    this.outbox = outbox;
    this.statements = prepare(db);
  }

  /**
   * Store a tweet and its `tweet.posted` event in one transaction: either both exist or neither,
   * so a tweet that was acknowledged always reaches timeline and realtime eventually.
   *
   * Idempotency keys are scoped to the author (the gateway sets the author from the access token),
   * so one user's key can neither collide with nor reveal another user's tweet.
   */
  post(input: { author: string; text: string; idempotencyKey?: string | undefined }): {
    tweet: Tweet;
    created: boolean;
  } {
    const fingerprint = createHash('sha256').update(input.text).digest('base64url');
    return transaction(this.db, () => {
      if (input.idempotencyKey !== undefined) {
        const previous = this.statements.findKey.get(input.author, input.idempotencyKey) as
          { fingerprint: string; tweet_id: string } | undefined;
        if (previous) {
          if (previous.fingerprint !== fingerprint) {
            throw conflict(
              'this Idempotency-Key was already used for a different tweet; use a new key for a new tweet',
            );
          }
          const tweet = this.get(previous.tweet_id);
          if (tweet) return { tweet, created: false };
        }
      }
      const { id, time } = this.ids.next();
      const tweet: Tweet = {
        id,
        author: input.author,
        text: input.text,
        createdAt: new Date(time).toISOString(),
      };
      this.statements.insert.run(tweet.id, tweet.author, tweet.text, tweet.createdAt);
      if (input.idempotencyKey !== undefined) {
        this.statements.insertKey.run(input.author, input.idempotencyKey, fingerprint, tweet.id, Date.now());
      }
      this.outbox.enqueue(TWEET_POSTED, {
        tweetId: tweet.id,
        author: tweet.author,
        text: tweet.text,
        createdAt: tweet.createdAt,
      });
      return { tweet, created: true };
    });
  }

  get(id: string): Tweet | undefined {
    const row = this.statements.get.get(id) as TweetRow | undefined;
    return row && toTweet(row);
  }

  getMany(ids: readonly string[]): Map<string, Tweet> {
    const rows = this.statements.getMany.all(JSON.stringify(ids)) as unknown as TweetRow[];
    return new Map(rows.map((row) => [row.id, toTweet(row)]));
  }

  /** Newest first; `before` is exclusive, so the last id of a page asks for the next one. */
  byAuthors(authors: readonly string[], limit: number, before: string | undefined): Tweet[] {
    const rows = this.statements.byAuthors.all(
      JSON.stringify(authors),
      before ?? AFTER_ALL_IDS,
      limit,
    ) as unknown as TweetRow[];
    return rows.map(toTweet);
  }

  purgeIdempotencyKeys(now = Date.now()): number {
    return Number(this.statements.purgeKeys.run(now - IDEMPOTENCY_KEY_TTL_MS).changes);
  }
}

import { transaction, type Database } from '../../kit/storage.ts';

export interface TimelineItem {
  tweetId: string;
  author: string;
  createdAt: string;
}

export interface TimelinePage {
  handle: string;
  items: TimelineItem[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: string | null;
}

export interface PostedTweet {
  tweetId: string;
  author: string;
  createdAt: string;
}

export type TimelineKind = 'home' | 'user';

/** Above every tweet id in sort order, so "before" can always be bound. */
const AFTER_ALL_IDS = '~';

function prepare(db: Database) {
  const page = (table: string) =>
    db.prepare(
      `SELECT tweet_id, author, created_at FROM ${table} WHERE owner = ? AND tweet_id < ? ORDER BY tweet_id DESC LIMIT ?`,
    );
  return {
    processed: db.prepare('SELECT 1 AS found FROM processed_events WHERE tweet_id = ?'),
    markProcessed: db.prepare(
      'INSERT INTO processed_events (tweet_id, recipients, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertHome: db.prepare(
      'INSERT INTO home_timeline (owner, tweet_id, author, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertUser: db.prepare(
      'INSERT INTO user_timeline (owner, tweet_id, author, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    page: { home: page('home_timeline'), user: page('user_timeline') },
  };
}

/** Home and user timelines, written at fan-out and read newest first. */
export class TimelineStore {
  private readonly db: Database;
  private readonly statements: ReturnType<typeof prepare>;

  constructor(db: Database) {
    this.db = db;
    this.statements = prepare(db);
  }

  isProcessed(tweetId: string): boolean {
    return this.statements.processed.get(tweetId) !== undefined;
  }

  /**
   * Put a tweet into the home timeline of each follower and of its author, and into the author's
   * user timeline, all or nothing. Returns false when the tweet was already fanned out (a
   * redelivery), in which case nothing changes.
   */
  fanOut(tweet: PostedTweet, followers: readonly string[]): { applied: boolean; recipients: number } {
    const owners = new Set(followers);
    owners.add(tweet.author);
    return transaction(this.db, () => {
      const fresh = this.statements.markProcessed.run(tweet.tweetId, owners.size, Date.now()).changes > 0;
      if (!fresh) return { applied: false, recipients: 0 };
      for (const owner of owners)
        this.statements.insertHome.run(owner, tweet.tweetId, tweet.author, tweet.createdAt);
      this.statements.insertUser.run(tweet.author, tweet.tweetId, tweet.author, tweet.createdAt);
      return { applied: true, recipients: owners.size };
    });
  }

  page(kind: TimelineKind, handle: string, limit: number, before: string | undefined): TimelinePage {
    // One row more than asked tells whether an older page exists without a second query.
    const rows = this.statements.page[kind].all(handle, before ?? AFTER_ALL_IDS, limit + 1) as Array<{
      tweet_id: string;
      author: string;
      created_at: string;
    }>;
    const items = rows
      .slice(0, limit)
      .map((r) => ({ tweetId: r.tweet_id, author: r.author, createdAt: r.created_at }));
    return { handle, items, next: rows.length > limit ? (items.at(-1)?.tweetId ?? null) : null };
  }
}

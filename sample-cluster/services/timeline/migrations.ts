import type { Migration } from '../../kit/storage.ts';

/**
 * Timelines hold references (tweet id, author, time), never tweet text: the gateway fetches the
 * tweets in a batch, so a timeline row stays small however many followers it is copied to.
 */
export const TIMELINE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'home and user timelines, processed events',
    up: `
      CREATE TABLE home_timeline (
        owner TEXT NOT NULL,
        tweet_id TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, tweet_id)
      ) WITHOUT ROWID;
      CREATE TABLE user_timeline (
        owner TEXT NOT NULL,
        tweet_id TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, tweet_id)
      ) WITHOUT ROWID;
      CREATE TABLE processed_events (
        tweet_id TEXT PRIMARY KEY,
        recipients INTEGER NOT NULL,
        processed_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

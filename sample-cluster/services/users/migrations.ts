import type { Migration } from '../../kit/storage.ts';

/**
 * Follower and following counts live on the profile row, updated in the same transaction as the
 * follow edge: the gateway reads profiles in batches on every home timeline, so counting edges on
 * each read would cost far more than keeping the numbers.
 */
export const USERS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'profiles and follows',
    up: `
      CREATE TABLE profiles (
        handle TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        followers INTEGER NOT NULL DEFAULT 0,
        following INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE TABLE follows (
        follower TEXT NOT NULL REFERENCES profiles (handle),
        followee TEXT NOT NULL REFERENCES profiles (handle),
        created_at TEXT NOT NULL,
        PRIMARY KEY (follower, followee)
      ) WITHOUT ROWID;
      CREATE INDEX follows_by_followee ON follows (followee, follower);
    `,
  },
];

import { OUTBOX_TABLE_SQL } from '../../kit/outbox.ts';
import type { Migration } from '../../kit/storage.ts';

export const TWEETS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tweets, idempotency keys, outbox',
    up: `
      CREATE TABLE tweets (
        id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX tweets_by_author ON tweets (author, id);
      CREATE TABLE idempotency_keys (
        author TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        tweet_id TEXT NOT NULL REFERENCES tweets (id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (author, key)
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
      ${OUTBOX_TABLE_SQL}
    `,
  },
];

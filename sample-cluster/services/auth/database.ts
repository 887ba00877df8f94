import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Database, type Migration } from '../../kit/storage.ts';

export const AUTH_DB_FILE = 'auth.db';

/** Published migrations are never edited; a change of schema is a new version at the end. */
export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, oauth store, keys, outbox',
    up: `
      CREATE TABLE accounts (
        handle TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      -- Every oidc-provider artifact (sessions, interactions, grants, codes, refresh tokens, ...).
      CREATE TABLE oidc_store (
        model TEXT NOT NULL,
        id TEXT NOT NULL,
        payload TEXT NOT NULL,
        grant_id TEXT,
        user_code TEXT,
        uid TEXT,
        expires_at INTEGER,
        consumed_at INTEGER,
        PRIMARY KEY (model, id)
      ) WITHOUT ROWID;
      CREATE INDEX oidc_store_grant ON oidc_store (model, grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_store_uid ON oidc_store (model, uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_store_user_code ON oidc_store (model, user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_store_expiry ON oidc_store (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at TEXT NOT NULL,
        retired_at TEXT
      );

      CREATE TABLE cookie_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      -- The kit outbox's table (kit/outbox.ts OUTBOX_TABLE_SQL), written out because a published
      -- migration never changes; database.spec.ts checks that the two stay the same.
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        destination TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at INTEGER
      );
      CREATE INDEX outbox_pending ON outbox (destination, id) WHERE delivered_at IS NULL;
    `,
  },
];

/** The database holds private signing keys and password hashes: readable by this user only. */
export function openAuthDatabase(dataDir: string): Database {
  const path = join(dataDir, AUTH_DB_FILE);
  // Create the file 0600 before SQLite opens it: its -wal and -shm files copy these permissions.
  mkdirSync(dataDir, { recursive: true });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  return openDatabase(path, AUTH_MIGRATIONS);
}

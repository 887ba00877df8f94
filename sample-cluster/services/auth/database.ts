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
  {
    version: 2,
    name: 'trust: mode, shared secrets, certificates, issued and revoked tokens',
    up: `
      CREATE TABLE trust_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

      -- HS256 secrets of the jwt-secret mode; sign_from and retire_at are epoch ms.
      CREATE TABLE shared_secrets (
        kid TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        sign_from INTEGER NOT NULL,
        retire_at INTEGER,
        created_at INTEGER NOT NULL
      );

      -- Every certificate the cluster CA signed for an instance; times are epoch ms.
      CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT
      );
      CREATE INDEX certificates_service ON certificates (service, not_after);

      -- Services refused new certificates until a time (an operator's revocation with a hold).
      CREATE TABLE certificate_holds (service TEXT PRIMARY KEY, until INTEGER NOT NULL);

      -- JWT access tokens are not stored by oidc-provider; their ids are, to list and revoke them.
      CREATE TABLE issued_tokens (
        jti TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        account_id TEXT,
        client_id TEXT NOT NULL,
        grant_id TEXT,
        scope TEXT,
        issued_at INTEGER NOT NULL,
        exp INTEGER NOT NULL
      );
      CREATE INDEX issued_tokens_grant ON issued_tokens (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX issued_tokens_account ON issued_tokens (account_id) WHERE account_id IS NOT NULL;

      -- Revoked access tokens (deny list until they expire) and per-user cut-offs; epoch seconds.
      CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        sub TEXT,
        exp INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
      CREATE TABLE subject_cutoffs (sub TEXT PRIMARY KEY, before INTEGER NOT NULL);
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

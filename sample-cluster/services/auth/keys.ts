import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { transaction, type Database } from '../../kit/storage.ts';

export const SIGNING_ALG = 'ES256';

/**
 * The private signing keys, newest first (oidc-provider signs with the first one and publishes all
 * of them in the JWKS). Made on first start and kept in the database, so a restart keeps every
 * issued token verifiable.
 */
export async function loadSigningKeys(db: Database): Promise<JWK[]> {
  const existing = readSigningKeys(db);
  if (existing.length > 0) return existing;
  const key = await newSigningKey();
  return transaction(db, () => {
    // Another process on the same file may have won the race; its key is as good as ours.
    const raced = readSigningKeys(db);
    if (raced.length > 0) return raced;
    db.prepare('INSERT INTO signing_keys (kid, alg, private_jwk, created_at) VALUES (?, ?, ?, ?)').run(
      key.kid!,
      SIGNING_ALG,
      JSON.stringify(key),
      new Date().toISOString(),
    );
    return [key];
  });
}

/**
 * Keys still published: the current one (signs) and, after a rotation, the previous ones until
 * `retired_at`, so tokens they signed stay verifiable until those tokens expire (JWKS overlap).
 */
function readSigningKeys(db: Database): JWK[] {
  const rows = db
    .prepare(
      'SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC, rowid DESC',
    )
    .all(new Date().toISOString()) as Array<{ private_jwk: string }>;
  return rows.map((row) => JSON.parse(row.private_jwk) as JWK);
}

/** A new signing key; the others stay published for `overlapSeconds`. Returns the new kid. */
export async function rotateSigningKey(db: Database, overlapSeconds: number): Promise<string> {
  const key = await newSigningKey();
  const now = new Date();
  transaction(db, () => {
    db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').run(
      new Date(now.getTime() + overlapSeconds * 1000).toISOString(),
    );
    db.prepare('INSERT INTO signing_keys (kid, alg, private_jwk, created_at) VALUES (?, ?, ?, ?)').run(
      key.kid!,
      SIGNING_ALG,
      JSON.stringify(key),
      // Strictly after every existing key, so it sorts first and signs.
      new Date(Math.max(now.getTime(), latestCreation(db) + 1)).toISOString(),
    );
  });
  return key.kid!;
}

function latestCreation(db: Database): number {
  const row = db.prepare('SELECT MAX(created_at) AS at FROM signing_keys').get() as { at: string | null };
  return row.at ? Date.parse(row.at) : 0;
}

/** When the next published key stops being published (null: none is retiring). */
export function nextRetirement(db: Database): number | null {
  const row = db
    .prepare('SELECT MIN(retired_at) AS at FROM signing_keys WHERE retired_at > ?')
    .get(new Date().toISOString()) as { at: string | null };
  return row.at ? Date.parse(row.at) : null;
}

export function signingKeyList(
  db: Database,
): Array<{ kid: string; createdAt: string; retiredAt: string | null }> {
  return (
    db
      .prepare('SELECT kid, created_at, retired_at FROM signing_keys ORDER BY created_at DESC')
      .all() as Array<{
      kid: string;
      created_at: string;
      retired_at: string | null;
    }>
  ).map((r) => ({ kid: r.kid, createdAt: r.created_at, retiredAt: r.retired_at }));
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALG, use: 'sig' };
}

/** The public half of the published keys (what /oauth/jwks serves). */
export function publicJwks(keys: readonly JWK[]): { keys: JWK[] } {
  return {
    keys: keys.map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, y: k.y, kid: k.kid, alg: k.alg, use: k.use })),
  };
}

/** Keys that sign the provider's cookies (interaction, session), newest first; kept like the signing keys. */
export function loadCookieKeys(db: Database): string[] {
  return transaction(db, () => {
    const rows = db.prepare('SELECT secret FROM cookie_keys ORDER BY id DESC').all() as Array<{
      secret: string;
    }>;
    if (rows.length > 0) return rows.map((row) => row.secret);
    const secret = randomBytes(32).toString('base64url');
    db.prepare('INSERT INTO cookie_keys (secret, created_at) VALUES (?, ?)').run(
      secret,
      new Date().toISOString(),
    );
    return [secret];
  });
}

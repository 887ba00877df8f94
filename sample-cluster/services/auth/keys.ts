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
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const key: JWK = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALG, use: 'sig' };
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

function readSigningKeys(db: Database): JWK[] {
  const rows = db
    .prepare(
      'SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, rowid DESC',
    )
    .all() as Array<{ private_jwk: string }>;
  return rows.map((row) => JSON.parse(row.private_jwk) as JWK);
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

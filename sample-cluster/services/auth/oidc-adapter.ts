import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';
import type { Database } from '../../kit/storage.ts';

interface StoredRow {
  payload: string;
  consumed_at: number | null;
}

/**
 * oidc-provider's storage in the service's SQLite database: every model (Session, Interaction,
 * Grant, AuthorizationCode, RefreshToken, ...) is one row keyed by (model, id), with the secondary
 * keys oidc-provider looks things up by. Expired rows are invisible at once and removed by sweep().
 */
export class SqliteOidcAdapter implements Adapter {
  readonly #db: Database;
  readonly #model: string;

  constructor(db: Database, model: string) {
    this.#db = db;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const expiresAt = typeof expiresIn === 'number' && expiresIn > 0 ? Date.now() + expiresIn * 1000 : null;
    // A consumed artifact stays consumed whatever a later save says: reuse detection depends on it.
    this.#db
      .prepare(
        `INSERT INTO oidc_store (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model, id) DO UPDATE SET
           payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
           uid = excluded.uid, expires_at = excluded.expires_at`,
      )
      .run(
        this.#model,
        id,
        JSON.stringify(payload),
        stringOrNull(payload.grantId),
        stringOrNull(payload.userCode),
        stringOrNull(payload.uid),
        expiresAt,
      );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#one('id = ?', id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#one('uid = ?', uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#one('user_code = ?', userCode);
  }

  async consume(id: string): Promise<void> {
    this.#db
      .prepare('UPDATE oidc_store SET consumed_at = COALESCE(consumed_at, ?) WHERE model = ? AND id = ?')
      .run(Math.floor(Date.now() / 1000), this.#model, id);
  }

  async destroy(id: string): Promise<void> {
    this.#db.prepare('DELETE FROM oidc_store WHERE model = ? AND id = ?').run(this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#db.prepare('DELETE FROM oidc_store WHERE model = ? AND grant_id = ?').run(this.#model, grantId);
  }

  #one(where: string, value: string): AdapterPayload | undefined {
    const row = this.#db
      .prepare(
        `SELECT payload, consumed_at FROM oidc_store WHERE model = ? AND ${where} AND (expires_at IS NULL OR expires_at > ?) LIMIT 1`,
      )
      .get(this.#model, value, Date.now()) as StoredRow | undefined;
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: row.consumed_at };
  }
}

export function sqliteAdapterFactory(db: Database): AdapterFactory {
  const adapters = new Map<string, SqliteOidcAdapter>();
  return (model) => {
    let adapter = adapters.get(model);
    if (!adapter) {
      adapter = new SqliteOidcAdapter(db, model);
      adapters.set(model, adapter);
    }
    return adapter;
  };
}

/** Delete expired artifacts; returns how many. */
export function sweepExpired(db: Database, now = Date.now()): number {
  return Number(
    db.prepare('DELETE FROM oidc_store WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes,
  );
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

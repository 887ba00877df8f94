/**
 * The life of access tokens after they are issued. oidc-provider does not store JWT access tokens,
 * so their ids are recorded here when issued; revoking one (RFC 7009), a grant, or everything of a
 * user puts ids on a deny list (and a per-user cut-off) that lasts until they would expire anyway,
 * and tells every listener at once (the trust stream: the gateway refuses them within
 * milliseconds).
 */
import type { Database } from '../../kit/storage.ts';
import { transaction } from '../../kit/storage.ts';
import type { Revocations } from '../../kit/trust/protocol.ts';
import type { AuthEvents } from './auth-events.ts';

export interface IssuedToken {
  readonly jti: string;
  readonly kind: 'access' | 'service';
  readonly accountId: string | null;
  readonly clientId: string;
  readonly grantId: string | null;
  readonly scope: string | null;
  readonly issuedAt: number;
  readonly exp: number;
  readonly revoked: boolean;
}

export interface GrantView {
  readonly grantId: string;
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly scopes: string[];
  readonly issuedAt: number | null;
  readonly expiresAt: number | null;
  readonly refreshTokens: number;
  readonly accessTokens: number;
}

type Publish = (revocations: Revocations) => void;

export class TokenRegistry {
  readonly #db: Database;
  readonly #events: AuthEvents;
  #publish: Publish = () => undefined;

  constructor(db: Database, events: AuthEvents) {
    this.#db = db;
    this.#events = events;
  }

  onRevocations(publish: Publish): void {
    this.#publish = publish;
  }

  recordIssued(token: Omit<IssuedToken, 'revoked'>): void {
    this.#db
      .prepare(
        `INSERT INTO issued_tokens (jti, kind, account_id, client_id, grant_id, scope, issued_at, exp)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
      )
      .run(
        token.jti,
        token.kind,
        token.accountId,
        token.clientId,
        token.grantId,
        token.scope,
        token.issuedAt,
        token.exp,
      );
  }

  /** Revoke one access token by id. Returns false when it was already revoked. */
  revokeJti(jti: string, exp: number, sub: string | null, reason: string): boolean {
    const now = Math.floor(Date.now() / 1000);
    const result = this.#db
      .prepare(
        'INSERT INTO revoked_tokens (jti, sub, exp, revoked_at, reason) VALUES (?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING',
      )
      .run(jti, sub, exp, now, reason);
    if (result.changes === 0) return false;
    this.#publish({
      full: false,
      tokens: [{ jti, exp, ...(sub ? { sub } : {}) }],
      subjects: [],
      at: Date.now(),
    });
    this.#events.record('revoked', { what: 'access_token', jti, sub: sub ?? undefined, reason });
    return true;
  }

  /** Every access token of a grant (the grant itself is destroyed by oidc-provider or revokeUser). */
  revokeGrantTokens(grantId: string, reason: string): number {
    const now = Math.floor(Date.now() / 1000);
    const rows = this.#db
      .prepare('SELECT jti, account_id, exp FROM issued_tokens WHERE grant_id = ? AND exp > ?')
      .all(grantId, now) as Array<{ jti: string; account_id: string | null; exp: number }>;
    const fresh: Revocations['tokens'] = [];
    const insert = this.#db.prepare(
      'INSERT INTO revoked_tokens (jti, sub, exp, revoked_at, reason) VALUES (?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING',
    );
    transaction(this.#db, () => {
      for (const row of rows) {
        if (insert.run(row.jti, row.account_id, row.exp, now, reason).changes > 0)
          fresh.push({ jti: row.jti, exp: row.exp, ...(row.account_id ? { sub: row.account_id } : {}) });
      }
    });
    if (fresh.length > 0) this.#publish({ full: false, tokens: fresh, subjects: [], at: Date.now() });
    this.#events.record('revoked', { what: 'grant', grant: grantId, accessTokens: fresh.length, reason });
    return fresh.length;
  }

  /**
   * Everything of one user: every token issued until now is refused (a cut-off on `iat`, so even a
   * token this registry never saw is covered), and every grant with its refresh tokens is gone.
   */
  revokeUser(handle: string, reason: string): { grants: number; accessTokens: number } {
    const now = Math.floor(Date.now() / 1000);
    const grants = this.#grantIdsOf(handle);
    const accessTokens = (
      this.#db
        .prepare('SELECT COUNT(*) AS n FROM issued_tokens WHERE account_id = ? AND exp > ?')
        .get(handle, now) as { n: number }
    ).n;
    transaction(this.#db, () => {
      this.#db
        .prepare(
          'INSERT INTO subject_cutoffs (sub, before) VALUES (?, ?) ON CONFLICT (sub) DO UPDATE SET before = excluded.before',
        )
        .run(handle, now);
      const destroyByGrant = this.#db.prepare('DELETE FROM oidc_store WHERE grant_id = ?');
      const destroyGrant = this.#db.prepare("DELETE FROM oidc_store WHERE model = 'Grant' AND id = ?");
      for (const grantId of grants) {
        destroyByGrant.run(grantId);
        destroyGrant.run(grantId);
      }
    });
    this.#publish({ full: false, tokens: [], subjects: [{ sub: handle, before: now }], at: Date.now() });
    this.#events.record('revoked', {
      what: 'user',
      sub: handle,
      grants: grants.length,
      accessTokens,
      reason,
    });
    return { grants: grants.length, accessTokens };
  }

  /** Destroy one grant (refresh tokens included) and revoke its access tokens. */
  revokeGrant(grantId: string, reason: string): boolean {
    const existed = transaction(this.#db, () => {
      const removed = this.#db
        .prepare("DELETE FROM oidc_store WHERE model = 'Grant' AND id = ?")
        .run(grantId).changes;
      this.#db.prepare('DELETE FROM oidc_store WHERE grant_id = ?').run(grantId);
      return removed > 0;
    });
    this.revokeGrantTokens(grantId, reason);
    return existed;
  }

  isRevoked(jti: string, sub: string | undefined, iat: number | undefined): boolean {
    if (this.#db.prepare('SELECT 1 FROM revoked_tokens WHERE jti = ?').get(jti)) return true;
    if (!sub) return false;
    const cutoff = this.#db.prepare('SELECT before FROM subject_cutoffs WHERE sub = ?').get(sub) as
      { before: number } | undefined;
    return cutoff !== undefined && (iat ?? 0) <= cutoff.before;
  }

  /** Everything still worth knowing: the first message on every trust stream. */
  full(): Revocations {
    const now = Math.floor(Date.now() / 1000);
    const tokens = this.#db
      .prepare('SELECT jti, exp, sub FROM revoked_tokens WHERE exp > ?')
      .all(now) as Array<{ jti: string; exp: number; sub: string | null }>;
    const subjects = this.#db.prepare('SELECT sub, before FROM subject_cutoffs').all() as Array<{
      sub: string;
      before: number;
    }>;
    return {
      full: true,
      tokens: tokens.map((t) => ({ jti: t.jti, exp: t.exp, ...(t.sub ? { sub: t.sub } : {}) })),
      subjects,
      at: Date.now(),
    };
  }

  tokens(filter: { account?: string; limit?: number } = {}): IssuedToken[] {
    const now = Math.floor(Date.now() / 1000);
    const rows = this.#db
      .prepare(
        `SELECT t.*, r.jti IS NOT NULL AS revoked, c.before AS cutoff FROM issued_tokens t
         LEFT JOIN revoked_tokens r ON r.jti = t.jti
         LEFT JOIN subject_cutoffs c ON c.sub = t.account_id
         WHERE t.exp > ? AND (? IS NULL OR t.account_id = ?)
         ORDER BY t.issued_at DESC LIMIT ?`,
      )
      .all(now, filter.account ?? null, filter.account ?? null, filter.limit ?? 200) as Array<{
      jti: string;
      kind: 'access' | 'service';
      account_id: string | null;
      client_id: string;
      grant_id: string | null;
      scope: string | null;
      issued_at: number;
      exp: number;
      revoked: number;
      cutoff: number | null;
    }>;
    return rows.map((r) => ({
      jti: r.jti,
      kind: r.kind,
      accountId: r.account_id,
      clientId: r.client_id,
      grantId: r.grant_id,
      scope: r.scope,
      issuedAt: r.issued_at,
      exp: r.exp,
      revoked: r.revoked === 1 || (r.cutoff !== null && r.issued_at <= r.cutoff),
    }));
  }

  /** Grants with counts of their tokens; never a token value (a refresh token's id is its value). */
  grants(filter: { account?: string } = {}): GrantView[] {
    const now = Date.now();
    const rows = this.#db
      .prepare(
        "SELECT id, payload, expires_at FROM oidc_store WHERE model = 'Grant' AND (expires_at IS NULL OR expires_at > ?)",
      )
      .all(now) as Array<{ id: string; payload: string; expires_at: number | null }>;
    const refreshCount = this.#db.prepare(
      "SELECT COUNT(*) AS n FROM oidc_store WHERE model = 'RefreshToken' AND grant_id = ? AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
    );
    const accessCount = this.#db.prepare(
      'SELECT COUNT(*) AS n FROM issued_tokens t WHERE grant_id = ? AND exp > ? AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = t.jti)',
    );
    return rows
      .map((row) => {
        const payload = JSON.parse(row.payload) as {
          accountId?: string;
          clientId?: string;
          iat?: number;
          openid?: { scope?: string };
          resources?: Record<string, string>;
        };
        const scopes = [
          ...(payload.openid?.scope?.split(' ') ?? []),
          ...Object.values(payload.resources ?? {}).flatMap((s) => s.split(' ')),
        ].filter(Boolean);
        return {
          grantId: row.id,
          accountId: payload.accountId ?? null,
          clientId: payload.clientId ?? null,
          scopes: [...new Set(scopes)],
          issuedAt: payload.iat ?? null,
          expiresAt: row.expires_at,
          refreshTokens: (refreshCount.get(row.id, now) as { n: number }).n,
          accessTokens: (accessCount.get(row.id, Math.floor(now / 1000)) as { n: number }).n,
        };
      })
      .filter((g) => !filter.account || g.accountId === filter.account);
  }

  /** Forget what has expired anyway. */
  sweep(): void {
    const now = Math.floor(Date.now() / 1000);
    this.#db.prepare('DELETE FROM issued_tokens WHERE exp <= ?').run(now);
    this.#db.prepare('DELETE FROM revoked_tokens WHERE exp <= ?').run(now);
  }

  #grantIdsOf(handle: string): string[] {
    const rows = this.#db.prepare("SELECT id, payload FROM oidc_store WHERE model = 'Grant'").all() as Array<{
      id: string;
      payload: string;
    }>;
    return rows
      .filter((r) => (JSON.parse(r.payload) as { accountId?: string }).accountId === handle)
      .map((r) => r.id);
  }
}

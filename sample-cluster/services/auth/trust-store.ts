/**
 * The trust authority's records in auth's database: the service-to-service mode, the shared
 * secrets of the jwt-secret mode, every certificate the cluster CA signed and which of them are
 * revoked or forced to expire, and holds that refuse a service new certificates for a while.
 */
import { randomBytes } from 'node:crypto';
import { transaction, type Database } from '../../kit/storage.ts';
import type { TrustMode } from '../../kit/trust/identity.ts';
import type { RevokedCertificate } from '../../kit/trust/protocol.ts';
import type { SharedSecret } from '../../kit/trust/service-jwt.ts';

/** Callers switch to a new secret this long after callees have it (they learn it at the same time). */
export const SECRET_SIGN_DELAY_MS = 2_000;
/** An old secret is accepted this long after a rotation: longer than any token signed with it lives. */
export const SECRET_OVERLAP_MS = 5 * 60_000;

export interface CertificateRecord {
  readonly serial: string;
  readonly service: string;
  readonly instanceId: string;
  readonly publicJwk: Record<string, string>;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly revokedAt: number | null;
  readonly revokedReason: 'revoked' | 'expired' | null;
}

interface CertificateRow {
  serial: string;
  service: string;
  instance_id: string;
  public_jwk: string;
  not_before: number;
  not_after: number;
  revoked_at: number | null;
  revoked_reason: 'revoked' | 'expired' | null;
}

export class TrustStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  // --- mode ---------------------------------------------------------------------------------

  mode(defaultMode: TrustMode): { mode: TrustMode; previousMode: TrustMode | null; changedAt: number } {
    const get = (key: string) =>
      (
        this.#db.prepare('SELECT value FROM trust_settings WHERE key = ?').get(key) as
          { value: string } | undefined
      )?.value;
    const mode = (get('mode') as TrustMode | undefined) ?? defaultMode;
    const previous = (get('previous_mode') as TrustMode | undefined) ?? null;
    return { mode, previousMode: previous, changedAt: Number(get('mode_changed_at') ?? 0) };
  }

  setMode(mode: TrustMode, current: TrustMode): void {
    transaction(this.#db, () => {
      const put = this.#db.prepare(
        'INSERT INTO trust_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      put.run('previous_mode', current);
      put.run('mode', mode);
      put.run('mode_changed_at', String(Date.now()));
    });
  }

  // --- shared secrets -----------------------------------------------------------------------

  /** The secrets peers may use now, made on first use. */
  secrets(now = Date.now()): SharedSecret[] {
    this.#db.prepare('DELETE FROM shared_secrets WHERE retire_at IS NOT NULL AND retire_at <= ?').run(now);
    const rows = this.#db
      .prepare('SELECT kid, secret, sign_from FROM shared_secrets ORDER BY sign_from DESC')
      .all() as Array<{ kid: string; secret: string; sign_from: number }>;
    if (rows.length > 0) return rows.map((r) => ({ kid: r.kid, secret: r.secret, signFrom: r.sign_from }));
    this.rotateSecret(0);
    return this.secrets(now);
  }

  /** A new secret; the others stay accepted for the overlap. Returns the new kid. */
  rotateSecret(signDelayMs = SECRET_SIGN_DELAY_MS): string {
    const now = Date.now();
    const kid = randomBytes(6).toString('hex');
    transaction(this.#db, () => {
      this.#db
        .prepare('UPDATE shared_secrets SET retire_at = ? WHERE retire_at IS NULL')
        .run(now + SECRET_OVERLAP_MS);
      this.#db
        .prepare('INSERT INTO shared_secrets (kid, secret, sign_from, created_at) VALUES (?, ?, ?, ?)')
        .run(kid, randomBytes(32).toString('base64url'), now + signDelayMs, now);
    });
    return kid;
  }

  // --- certificates -------------------------------------------------------------------------

  recordCertificate(record: Omit<CertificateRecord, 'revokedAt' | 'revokedReason'>): void {
    this.#db
      .prepare(
        'INSERT INTO certificates (serial, service, instance_id, public_jwk, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.serial,
        record.service,
        record.instanceId,
        JSON.stringify(record.publicJwk),
        record.notBefore,
        record.notAfter,
      );
    // Long-expired records are of no use to anyone.
    this.#db.prepare('DELETE FROM certificates WHERE not_after < ?').run(Date.now() - 86_400_000);
  }

  certificates(filter: { service?: string; valid?: boolean } = {}): CertificateRecord[] {
    const now = Date.now();
    const rows = this.#db
      .prepare('SELECT * FROM certificates ORDER BY not_before DESC')
      .all() as unknown as CertificateRow[];
    return rows
      .map(toRecord)
      .filter((c) => !filter.service || c.service === filter.service)
      .filter((c) => !filter.valid || (c.revokedAt === null && c.notAfter > now));
  }

  /** Revoke (or force the expiry of) certificates; returns the serials newly withdrawn. */
  withdraw(filter: { service?: string; serial?: string }, reason: 'revoked' | 'expired'): string[] {
    const targets = this.certificates({ valid: true }).filter(
      (c) =>
        (!filter.service || c.service === filter.service) && (!filter.serial || c.serial === filter.serial),
    );
    const now = Date.now();
    const update = this.#db.prepare(
      'UPDATE certificates SET revoked_at = ?, revoked_reason = ? WHERE serial = ? AND revoked_at IS NULL',
    );
    transaction(this.#db, () => {
      for (const c of targets) update.run(now, reason, c.serial);
    });
    return targets.map((c) => c.serial);
  }

  revokedCertificates(): RevokedCertificate[] {
    const now = Date.now();
    return this.certificates()
      .filter((c) => c.revokedAt !== null && c.notAfter > now)
      .map((c) => ({
        serial: c.serial,
        service: c.service,
        reason: c.revokedReason ?? 'revoked',
        until: c.notAfter,
      }));
  }

  hold(service: string, seconds: number): void {
    this.#db
      .prepare(
        'INSERT INTO certificate_holds (service, until) VALUES (?, ?) ON CONFLICT (service) DO UPDATE SET until = excluded.until',
      )
      .run(service, Date.now() + seconds * 1000);
  }

  /** Ends a service's hold; whether one was in force. */
  release(service: string): boolean {
    const held = this.heldUntil(service) !== null;
    this.#db.prepare('DELETE FROM certificate_holds WHERE service = ?').run(service);
    return held;
  }

  heldUntil(service: string): number | null {
    const row = this.#db.prepare('SELECT until FROM certificate_holds WHERE service = ?').get(service) as
      { until: number } | undefined;
    return row && row.until > Date.now() ? row.until : null;
  }
}

function toRecord(row: CertificateRow): CertificateRecord {
  return {
    serial: row.serial,
    service: row.service,
    instanceId: row.instance_id,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, string>,
    notBefore: row.not_before,
    notAfter: row.not_after,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
  };
}

/**
 * Whether a verified access token has been revoked since it was issued. Two ways, switchable live
 * to compare them:
 * - push (default): auth pushes every revocation on the trust stream; the gateway keeps the revoked
 *   ids (until they expire) and per-user cut-offs, and answers from memory. While the stream is
 *   down, or not yet re-synchronised after a reconnect, it asks auth instead (introspection), so it
 *   never trusts a view that may be stale.
 * - introspection: ask auth about every token (RFC 7662), caching each answer for `cacheMs`.
 */
import type { Logger } from 'pino';
import { serviceUnavailable, unauthorized } from '../../kit/problem.ts';
import type { ServiceClient } from '../../kit/service-client.ts';
import type { TrustAgent } from '../../kit/trust/agent.ts';
import { TRUST_INTROSPECT_PATH, type Revocations } from '../../kit/trust/protocol.ts';
import { Lru } from './lru.ts';

export const REVOCATION_MODES = ['push', 'introspection'] as const;
export type RevocationMode = (typeof REVOCATION_MODES)[number];

export interface TokenFacts {
  readonly tokenId: string;
  readonly handle: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

const LAG_SAMPLES = 500;

export class RevocationCheck {
  #mode: RevocationMode;
  #cacheMs: number;
  readonly #client: ServiceClient;
  readonly #trust: TrustAgent | undefined;
  readonly #log: Logger;
  readonly #tokens = new Map<string, number>();
  readonly #subjects = new Map<string, number>();
  readonly #answers = new Lru<string, { active: boolean; at: number }>(10_000);
  /** The local view is complete: a full list arrived on the current stream. */
  #synced = false;
  readonly #lags: number[] = [];
  #introspections = 0;
  #fallbacks = 0;

  constructor(options: {
    mode: RevocationMode;
    cacheMs: number;
    client: ServiceClient;
    trust: TrustAgent | undefined;
    log: Logger;
  }) {
    this.#mode = options.mode;
    this.#cacheMs = options.cacheMs;
    this.#client = options.client;
    this.#trust = options.trust;
    this.#log = options.log.child({ component: 'revocation' });
    this.#trust?.onRevocations((r) => this.#apply(r));
    this.#trust?.onStreamChange((connected) => {
      if (!connected) {
        this.#synced = false;
        this.#log.warn('trust stream lost: revocations are checked by introspection until it is back');
      }
    });
  }

  configure(settings: { mode?: RevocationMode; cacheMs?: number }): void {
    if (settings.mode) this.#mode = settings.mode;
    if (settings.cacheMs !== undefined) this.#cacheMs = settings.cacheMs;
    this.#answers.clear();
  }

  /** Throws a 401 problem when the token is revoked, 503 when that cannot be known. */
  async check(token: string, facts: TokenFacts): Promise<void> {
    if (!this.#trust) return; // a gateway without trust (unit tests) has no one to ask
    if (this.#mode === 'push' && this.#synced && this.#trust.streamConnected) {
      if (this.#revokedLocally(facts)) throw unauthorized('the access token has been revoked');
      return;
    }
    if (this.#mode === 'push') this.#fallbacks += 1;
    if (!(await this.#introspect(token))) throw unauthorized('the access token has been revoked');
  }

  #revokedLocally(facts: TokenFacts): boolean {
    if (this.#tokens.has(facts.tokenId)) return true;
    const cutoff = this.#subjects.get(facts.handle);
    return cutoff !== undefined && facts.issuedAt <= cutoff;
  }

  async #introspect(token: string): Promise<boolean> {
    const cached = this.#answers.get(token);
    if (cached && Date.now() - cached.at < this.#cacheMs) return cached.active;
    this.#introspections += 1;
    let active: boolean;
    try {
      const answer = await this.#client.request<{ active?: boolean }>('auth', {
        method: 'POST',
        path: TRUST_INTROSPECT_PATH,
        body: { token },
        timeoutMs: 2_000,
        throwOn4xx: true,
      });
      active = answer.body.active === true;
    } catch {
      throw serviceUnavailable('whether the access token is revoked cannot be checked right now', 1);
    }
    if (this.#cacheMs > 0) this.#answers.set(token, { active, at: Date.now() });
    return active;
  }

  #apply(revocations: Revocations): void {
    const now = Math.floor(Date.now() / 1000);
    if (revocations.full) {
      this.#tokens.clear();
      this.#subjects.clear();
      this.#synced = true;
    } else {
      this.#lags.push(Date.now() - revocations.at);
      if (this.#lags.length > LAG_SAMPLES) this.#lags.shift();
    }
    for (const t of revocations.tokens) if (t.exp > now) this.#tokens.set(t.jti, t.exp);
    for (const s of revocations.subjects)
      this.#subjects.set(s.sub, Math.max(s.before, this.#subjects.get(s.sub) ?? 0));
    // Drop what has expired anyway, now and then.
    if (this.#tokens.size > 1_000)
      for (const [jti, exp] of this.#tokens) if (exp <= now) this.#tokens.delete(jti);
    // Push mode's fallback must not answer from before this revocation; the introspection mode
    // stands on its own (its cache is the trade-off it shows).
    if (this.#mode === 'push') this.#answers.clear();
  }

  stats() {
    const sorted = [...this.#lags].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
    return {
      mode: this.#mode,
      cacheMs: this.#cacheMs,
      streamConnected: this.#trust?.streamConnected ?? false,
      synced: this.#synced,
      revokedTokens: this.#tokens.size,
      revokedSubjects: this.#subjects.size,
      introspections: this.#introspections,
      fallbackChecks: this.#fallbacks,
      pushLagMs: { samples: sorted.length, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? null },
    };
  }
}

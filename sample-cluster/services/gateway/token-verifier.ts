import {
  createLocalJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { insufficientScope, serviceUnavailable, unauthorized } from '../../kit/problem.ts';
import { UpstreamError, type ServiceClient } from '../../kit/service-client.ts';
import { Lru } from './lru.ts';

export interface Principal {
  /** The user's handle (the token's `sub`). */
  readonly handle: string;
  readonly clientId: string;
  readonly scopes: ReadonlySet<string>;
  readonly tokenId: string;
  readonly expiresAt: number;
  /** `iat`, epoch seconds: a user's tokens issued up to a revocation cut-off are refused. */
  readonly issuedAt: number;
}

/** Only asymmetric algorithms: an HS256 token "signed" with the public key is refused (RFC 8725 §3.1). */
const ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];
/**
 * At most one JWKS fetch per this interval, whatever the traffic. A token with an unknown `kid`
 * waits for the next fetch allowed (at once when none ran lately) instead of being refused: a key
 * rotated a moment ago is accepted on its first use, while a spray of forged `kid`s costs auth at
 * most one request per interval and the attacker the wait.
 */
const JWKS_MIN_INTERVAL_MS = 500;

/**
 * Verifies RFC 9068 access tokens against the auth service's JWKS. Keys are fetched through the
 * service client (so the gateway→auth breaker guards it) and refetched when an unknown `kid`
 * appears — by a fetch that starts after the token was seen, shared by every token waiting for
 * one, and rate-limited (JWKS_MIN_INTERVAL_MS) so forged `kid`s cannot make the gateway hammer
 * auth. `jku` and `x5u` headers are never followed.
 */
export class TokenVerifier {
  private readonly client: ServiceClient;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly clockTolerance: number;
  private readonly log: Logger;
  private keys: JWTVerifyGetKey | undefined;
  /**
   * Tokens whose signature and claims already checked out, until they expire. Verifying an ES256
   * signature was about a tenth of the gateway's CPU under load; a token is reused for many calls.
   * Emptied whenever the key set changes, so a withdrawn key stops working at once.
   */
  private readonly verified = new Lru<string, Principal>(10_000);
  /** When the latest fetch started (epoch ms); 0 before the first. */
  private lastFetchStart = 0;
  private keysFingerprint: string | undefined;
  /** The fetch in flight or scheduled, with the time it starts (or started). */
  private fetching: { startsAt: number; done: Promise<void> } | undefined;

  constructor(options: {
    client: ServiceClient;
    issuer: string;
    audience: string;
    clockToleranceSeconds: number;
    log: Logger;
  }) {
    this.client = options.client;
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.clockTolerance = options.clockToleranceSeconds;
    this.log = options.log;
  }

  /**
   * Resolves once a JWKS fetch that started at or after `notBefore` has ended (it throws when that
   * fetch failed). Every caller waiting at the same time shares one fetch; fetches start at most
   * once per JWKS_MIN_INTERVAL_MS.
   */
  private refreshKeys(notBefore: number): Promise<void> {
    const pending = this.fetching;
    if (pending && pending.startsAt >= notBefore) return pending.done;
    // A fetch that started before this token was seen may not hold its key: chain a new one.
    const after = pending?.done.catch(() => undefined) ?? Promise.resolve();
    const startsAt = Math.max(notBefore, this.lastFetchStart + JWKS_MIN_INTERVAL_MS, pending?.startsAt ?? 0);
    const entry: { startsAt: number; done: Promise<void> } = { startsAt, done: Promise.resolve() };
    entry.done = (async () => {
      await after;
      const wait = startsAt - Date.now();
      if (wait > 0) await sleep(wait);
      this.lastFetchStart = Date.now();
      try {
        await this.fetchKeys();
      } finally {
        if (this.fetching === entry) this.fetching = undefined;
      }
    })();
    this.fetching = entry;
    return entry.done;
  }

  private async fetchKeys(): Promise<void> {
    const result = await this.client.request<JSONWebKeySet>('auth', {
      path: '/oauth/jwks',
      timeoutMs: 2_000,
      throwOn4xx: true,
    });
    let keys: JWTVerifyGetKey;
    try {
      keys = createLocalJWKSet(result.body);
    } catch {
      throw new UpstreamError('auth', 502, 'auth served a key set that is not a JWKS');
    }
    const fingerprint = JSON.stringify(result.body.keys);
    // Only a changed key set can withdraw a key; refetches with the same keys keep the cache.
    if (fingerprint !== this.keysFingerprint) {
      this.verified.clear();
      this.log.info({ keys: result.body.keys.map((k) => k.kid) }, 'JWKS loaded');
    }
    this.keys = keys;
    this.keysFingerprint = fingerprint;
  }

  private readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const seenAt = Date.now();
    if (!this.keys) await this.refreshKeys(seenAt);
    try {
      return await this.keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A new key (a rotation) or a forged kid: only a fresh look at the JWKS can tell. When that
      // look fails we cannot tell either, which is our outage (503), not the token's fault.
      await this.refreshKeys(seenAt);
      return this.keys!(header, token);
    }
  };

  /** Verify a bearer token; throws a 401 problem with an RFC 6750 challenge on any defect. */
  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthorized('this request needs an access token', null);
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
    if (!match?.[1])
      throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    const cached = this.verified.get(match[1]);
    if (cached) {
      if (cached.expiresAt + this.clockTolerance > Date.now() / 1000) return cached;
      this.verified.delete(match[1]);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], this.getKey, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      }));
    } catch (error) {
      // Without keys we cannot tell a good token from a bad one: that is our outage, not a 401.
      if (error instanceof UpstreamError)
        throw serviceUnavailable('the signing keys could not be loaded; try again', 1);
      throw unauthorized(reasonFor(error));
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
    const scope = typeof payload.scope === 'string' ? payload.scope : '';
    const principal: Principal = {
      handle: payload.sub!,
      clientId,
      scopes: new Set(scope.split(' ').filter(Boolean)),
      tokenId: payload.jti!,
      expiresAt: payload.exp!,
      issuedAt: payload.iat!,
    };
    // Not-yet-valid tokens are not cached: their nbf must be checked again on the next call.
    if (payload.nbf === undefined || payload.nbf <= Date.now() / 1000) this.verified.set(match[1], principal);
    return principal;
  }

  requireScope(principal: Principal, scope: string): void {
    if (!principal.scopes.has(scope)) throw insufficientScope(scope);
  }
}

/** A precise reason, without echoing attacker-controlled token content. */
function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the access token's "${error.claim}" claim is not acceptable`;
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the access token is signed with an algorithm this API does not accept';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the access token is signed with an unknown key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the access token signature is invalid';
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return 'the access token is malformed';
  return 'the access token is not valid';
}

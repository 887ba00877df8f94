/**
 * A typed client of the auth service's admin API (`/admin/auth/*`, services/auth/admin-routes.ts)
 * and of the trust routes every service has (`/admin/trust`, the gateway's `/admin/revocation`):
 * what the control plane, the CLI verbs `revoke`, `rotate-keys` and `auth-mode`, and the app's
 * Auth view use. Runtime-neutral: an instance address and the cluster admin credential suffice.
 * Answers are validated; nothing here ever receives a token value, a secret or a private key.
 */
import { request } from 'undici';
import { z } from 'zod';
import { TRUST_MODES, type TrustMode } from '../kit/trust/identity.ts';
import { AdminError } from './admin-client.ts';

export { TRUST_MODES, type TrustMode };

const isoOrNull = z.string().nullable();

export const authStatusSchema = z.object({
  mode: z.enum(TRUST_MODES),
  previousMode: z.enum(TRUST_MODES).nullable(),
  modeChangedAt: isoOrNull,
  secrets: z.array(z.object({ kid: z.string(), signFrom: z.string() })),
  signingKeys: z.array(z.object({ kid: z.string(), createdAt: z.string(), retiredAt: isoOrNull })),
  certificateAuthority: z.boolean(),
  revokedCertificates: z.number(),
  subscribers: z.object({ streams: z.array(z.object({ service: z.string() })), local: z.number() }),
});
export type AuthStatus = z.infer<typeof authStatusSchema>;

export const grantSchema = z.object({
  grantId: z.string(),
  accountId: z.string().nullable(),
  clientId: z.string().nullable(),
  scopes: z.array(z.string()),
  issuedAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
  refreshTokens: z.number(),
  accessTokens: z.number(),
});
export type GrantInfo = z.infer<typeof grantSchema>;

export const tokenSchema = z.object({
  jti: z.string(),
  kind: z.enum(['access', 'service']),
  accountId: z.string().nullable(),
  clientId: z.string(),
  grantId: z.string().nullable(),
  scope: z.string().nullable(),
  issuedAt: z.number(),
  exp: z.number(),
  revoked: z.boolean(),
});
export type TokenInfo = z.infer<typeof tokenSchema>;

export const certificateSchema = z.object({
  serial: z.string(),
  service: z.string(),
  instanceId: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  state: z.enum(['valid', 'revoked', 'expired']),
});
export type CertificateInfo = z.infer<typeof certificateSchema>;

export const authEventSchema = z.object({
  at: z.string(),
  kind: z.string(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type AuthEventInfo = z.infer<typeof authEventSchema>;

export const trustStatusSchema = z.object({
  mode: z.enum(TRUST_MODES).nullable(),
  certificate: z.object({ serial: z.string(), notBefore: z.string(), notAfter: z.string() }).nullable(),
  streamConnected: z.boolean(),
  secretKids: z.array(z.string()),
  revokedCertificates: z.number(),
  refused: z.record(z.string(), z.number()),
  rotations: z.number(),
});
export type InstanceTrustStatus = z.infer<typeof trustStatusSchema>;

export const revocationStatsSchema = z.object({
  mode: z.enum(['push', 'introspection']),
  cacheMs: z.number(),
  streamConnected: z.boolean(),
  synced: z.boolean(),
  revokedTokens: z.number(),
  revokedSubjects: z.number(),
  introspections: z.number(),
  fallbackChecks: z.number(),
  pushLagMs: z.object({
    samples: z.number(),
    p50: z.number().nullable(),
    p99: z.number().nullable(),
    max: z.number().nullable(),
  }),
});
export type RevocationStats = z.infer<typeof revocationStatsSchema>;

export type RevokeTarget = { token: string } | { jti: string } | { user: string } | { grant: string };
export type RevokeResult =
  | { revoked: 'user'; user: string; grants: number; accessTokens: number }
  | { revoked: 'grant'; grant: string }
  | { revoked: 'access_token'; jti: string };

const revokeResultSchema = z.union([
  z.object({ revoked: z.literal('user'), user: z.string(), grants: z.number(), accessTokens: z.number() }),
  z.object({ revoked: z.literal('grant'), grant: z.string() }),
  z.object({ revoked: z.literal('access_token'), jti: z.string() }),
]);

export interface CertificateTarget {
  readonly service?: string;
  readonly serial?: string;
}

export interface AuthAdminOptions {
  /** host:port of an auth instance (its plain address). */
  readonly address: string;
  /** The cluster admin credential. */
  readonly token: string;
  readonly timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT';

export class AuthAdminClient {
  readonly #address: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: AuthAdminOptions) {
    this.#address = options.address;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  status(): Promise<AuthStatus> {
    return this.#call('GET', '/admin/auth/status', authStatusSchema);
  }

  async grants(filter: { account?: string } = {}): Promise<GrantInfo[]> {
    const query = filter.account ? `?account=${encodeURIComponent(filter.account)}` : '';
    return (await this.#call('GET', `/admin/auth/grants${query}`, z.object({ grants: z.array(grantSchema) })))
      .grants;
  }

  async tokens(filter: { account?: string; limit?: number } = {}): Promise<TokenInfo[]> {
    const query = new URLSearchParams();
    if (filter.account) query.set('account', filter.account);
    if (filter.limit) query.set('limit', String(filter.limit));
    const suffix = query.size ? `?${query.toString()}` : '';
    return (
      await this.#call('GET', `/admin/auth/tokens${suffix}`, z.object({ tokens: z.array(tokenSchema) }))
    ).tokens;
  }

  /** Revoke one access token (by value or jti), a grant, or everything of a user. */
  revoke(target: RevokeTarget): Promise<RevokeResult> {
    return this.#call('POST', '/admin/auth/revoke', revokeResultSchema, target);
  }

  /** A new signing key; the previous ones stay in the JWKS until the tokens they signed expire. */
  rotateKeys(): Promise<{ kid: string; published: string[] }> {
    return this.#call(
      'POST',
      '/admin/auth/keys/rotate',
      z.object({ kid: z.string(), published: z.array(z.string()) }),
    );
  }

  /** A new shared secret for the jwt-secret mode; the old one stays accepted for an overlap. */
  rotateSharedSecret(): Promise<{ kid: string; secrets: Array<{ kid: string; signFrom: string }> }> {
    return this.#call(
      'POST',
      '/admin/auth/secret/rotate',
      z.object({ kid: z.string(), secrets: z.array(z.object({ kid: z.string(), signFrom: z.string() })) }),
    );
  }

  mode(): Promise<{ mode: TrustMode; previousMode: TrustMode | null; changedAt: string | null }> {
    return this.#call(
      'GET',
      '/admin/auth/mode',
      z.object({
        mode: z.enum(TRUST_MODES),
        previousMode: z.enum(TRUST_MODES).nullable(),
        changedAt: isoOrNull,
      }),
    );
  }

  /** Switch every service to `mode`; they follow within milliseconds (the trust stream). */
  setMode(mode: TrustMode): Promise<{ mode: TrustMode; previousMode: TrustMode }> {
    return this.#call(
      'PUT',
      '/admin/auth/mode',
      z.object({ mode: z.enum(TRUST_MODES), previousMode: z.enum(TRUST_MODES) }),
      { mode },
    );
  }

  async certificates(filter: { service?: string } = {}): Promise<CertificateInfo[]> {
    const query = filter.service ? `?service=${encodeURIComponent(filter.service)}` : '';
    return (
      await this.#call(
        'GET',
        `/admin/auth/certificates${query}`,
        z.object({ certificates: z.array(certificateSchema) }),
      )
    ).certificates;
  }

  /** Revoke certificates; with `holdSeconds` the service gets no new one for that long. */
  async revokeCertificate(target: CertificateTarget & { holdSeconds?: number }): Promise<string[]> {
    return (
      await this.#call(
        'POST',
        '/admin/auth/certificates/revoke',
        z.object({ revoked: z.array(z.string()) }),
        target,
      )
    ).revoked;
  }

  /**
   * Force certificates to count as expired now (peers refuse them; holders enroll again, unless
   * `holdSeconds` refuses the service a new one for that long).
   */
  async expireCertificate(target: CertificateTarget & { holdSeconds?: number }): Promise<string[]> {
    return (
      await this.#call(
        'POST',
        '/admin/auth/certificates/expire',
        z.object({ expired: z.array(z.string()) }),
        target,
      )
    ).expired;
  }

  /** End a service's certificate hold now; whether one was in force. */
  async releaseCertificateHold(service: string): Promise<boolean> {
    return (
      await this.#call(
        'POST',
        '/admin/auth/certificates/release',
        z.object({ service: z.string(), released: z.boolean() }),
        { service },
      )
    ).released;
  }

  async events(filter: { limit?: number; kind?: string } = {}): Promise<AuthEventInfo[]> {
    const query = new URLSearchParams();
    if (filter.limit) query.set('limit', String(filter.limit));
    if (filter.kind) query.set('kind', filter.kind);
    const suffix = query.size ? `?${query.toString()}` : '';
    return (
      await this.#call('GET', `/admin/auth/events${suffix}`, z.object({ events: z.array(authEventSchema) }))
    ).events;
  }

  // --- any trusted instance -------------------------------------------------------------------

  /** An instance's certificate, mode, stream and refusal counts (any trusted service). */
  trustStatus(address: string): Promise<InstanceTrustStatus> {
    return this.#call('GET', '/admin/trust', trustStatusSchema, undefined, address);
  }

  /** Make an instance rotate its certificate now. */
  renewCertificate(address: string): Promise<InstanceTrustStatus> {
    return this.#call('POST', '/admin/trust/renew', trustStatusSchema, undefined, address);
  }

  /** Chaos: cut an instance off the trust stream for `seconds`. */
  suspendTrustStream(address: string, seconds: number): Promise<InstanceTrustStatus> {
    return this.#call('POST', '/admin/trust/stream/suspend', trustStatusSchema, { seconds }, address);
  }

  /** The gateway's revocation check: mode, fallbacks, measured push lag. */
  revocationStats(gatewayAddress: string): Promise<RevocationStats> {
    return this.#call('GET', '/admin/revocation', revocationStatsSchema, undefined, gatewayAddress);
  }

  configureRevocation(
    gatewayAddress: string,
    settings: { mode?: 'push' | 'introspection'; cacheMs?: number },
  ): Promise<RevocationStats> {
    return this.#call('PUT', '/admin/revocation', revocationStatsSchema, settings, gatewayAddress);
  }

  async #call<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body?: unknown,
    address = this.#address,
  ): Promise<z.infer<S>> {
    let response;
    try {
      response = await request(`http://${address}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new AdminError('unreachable', `${address} did not answer ${method} ${path}`, { cause: error });
    }
    const text = await response.body.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: reported below */
    }
    if (response.statusCode >= 400) {
      const detail = (json as { detail?: string } | undefined)?.detail ?? `answered ${response.statusCode}`;
      const kind =
        response.statusCode === 401 || response.statusCode === 403
          ? 'unauthorized'
          : response.statusCode === 404
            ? 'not-found'
            : response.statusCode === 400
              ? 'bad-request'
              : 'failed';
      throw new AdminError(kind, detail, { status: response.statusCode });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new AdminError(
        'failed',
        `unexpected answer to ${method} ${path}: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    return parsed.data;
  }
}

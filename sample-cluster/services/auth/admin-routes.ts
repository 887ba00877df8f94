/**
 * The auth admin API (`/admin/auth/*`, behind the cluster admin credential): what the control
 * plane's Auth view and the CLI's `revoke`, `rotate-keys` and `auth-mode` use. Listings carry ids
 * and times, never a token, a secret or a private key.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { badRequest, notFound } from '../../kit/problem.ts';
import { TRUST_MODES } from '../../kit/trust/identity.ts';
import { parse } from '../../kit/validate.ts';
import type { AccessTokens } from './access-tokens.ts';
import { AUTH_EVENT_KINDS, type AuthEvents } from './auth-events.ts';
import type { CertificateAuthority } from './certificate-authority.ts';
import type { TokenRegistry } from './token-registry.ts';
import type { TrustHub } from './trust-hub.ts';
import type { TrustStore } from './trust-store.ts';

const handle = z.string().min(1).max(64);
const revokeBody = z.union([
  z.strictObject({ token: z.string().min(1).max(8_192) }),
  z.strictObject({ jti: z.string().min(1).max(200) }),
  z.strictObject({ user: handle }),
  z.strictObject({ grant: z.string().min(1).max(200) }),
]);
const certificateTarget = z
  .strictObject({
    service: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .optional(),
    serial: z
      .string()
      .regex(/^[0-9a-fA-F]{1,64}$/)
      .optional(),
    /** After a revocation, refuse the service new certificates this long (its calls fail meanwhile). */
    holdSeconds: z.number().int().min(0).max(3_600).optional(),
  })
  .refine((t) => t.service !== undefined || t.serial !== undefined, 'name a service or a serial');
const releaseBody = z.strictObject({ service: z.string().regex(/^[a-z][a-z0-9-]*$/) });
const modeBody = z.strictObject({ mode: z.enum(TRUST_MODES) });
const listQuery = z.object({
  account: handle.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
});
const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  kind: z.enum(AUTH_EVENT_KINDS).optional(),
});

export interface AuthAdminDeps {
  readonly registry: TokenRegistry;
  readonly accessTokens: AccessTokens;
  readonly events: AuthEvents;
  readonly hub: TrustHub;
  readonly store: TrustStore;
  readonly ca: CertificateAuthority | undefined;
  rotateKeys(): Promise<{ kid: string; published: string[] }>;
  signingKeys(): Array<{ kid: string; createdAt: string; retiredAt: string | null }>;
}

export function registerAuthAdminRoutes(admin: FastifyInstance, deps: AuthAdminDeps): void {
  const { registry, hub, store, events } = deps;

  admin.get('/auth/status', async () => {
    const state = hub.state();
    return {
      mode: state.mode,
      previousMode: state.previousMode,
      modeChangedAt: state.modeChangedAt ? new Date(state.modeChangedAt).toISOString() : null,
      secrets: state.secrets.map((s) => ({ kid: s.kid, signFrom: new Date(s.signFrom).toISOString() })),
      signingKeys: deps.signingKeys(),
      certificateAuthority: deps.ca !== undefined,
      revokedCertificates: state.revokedCertificates.length,
      subscribers: hub.subscribers(),
    };
  });

  admin.get('/auth/grants', async (request) => {
    const { account } = parse(listQuery, request.query, 'query');
    return { grants: registry.grants(account ? { account } : {}) };
  });

  admin.get('/auth/tokens', async (request) => {
    const { account, limit } = parse(listQuery, request.query, 'query');
    return { tokens: registry.tokens({ ...(account ? { account } : {}), limit }) };
  });

  admin.post('/auth/revoke', async (request) => {
    const body = parse(revokeBody, request.body);
    if ('user' in body)
      return {
        revoked: 'user',
        user: body.user,
        ...registry.revokeUser(body.user, 'revoked by an operator'),
      };
    if ('grant' in body) {
      if (!registry.revokeGrant(body.grant, 'revoked by an operator'))
        throw notFound(`no grant "${body.grant}"`);
      return { revoked: 'grant', grant: body.grant };
    }
    if ('jti' in body) {
      const token = registry.tokens({ limit: 100_000 }).find((t) => t.jti === body.jti);
      if (!token) throw notFound(`no live access token with jti "${body.jti}"`);
      registry.revokeJti(token.jti, token.exp, token.accountId, 'revoked by an operator');
      return { revoked: 'access_token', jti: token.jti };
    }
    const claims = await deps.accessTokens.claims(body.token, { allowExpired: true });
    if (!claims)
      throw badRequest('not an access token of this server (refresh tokens: revoke their grant or user)');
    registry.revokeJti(claims.jti, claims.exp, claims.sub ?? null, 'revoked by an operator');
    return { revoked: 'access_token', jti: claims.jti };
  });

  admin.post('/auth/keys/rotate', async () => {
    const rotated = await deps.rotateKeys();
    events.record('keys-rotated', { kid: rotated.kid });
    return rotated;
  });

  admin.post('/auth/secret/rotate', async () => {
    const kid = store.rotateSecret();
    hub.publishState();
    events.record('secret-rotated', { kid });
    return {
      kid,
      secrets: hub.state().secrets.map((s) => ({ kid: s.kid, signFrom: new Date(s.signFrom).toISOString() })),
    };
  });

  admin.get('/auth/mode', async () => {
    const { mode, previousMode, modeChangedAt } = hub.state();
    return { mode, previousMode, changedAt: modeChangedAt ? new Date(modeChangedAt).toISOString() : null };
  });
  admin.put('/auth/mode', async (request) => {
    const { mode } = parse(modeBody, request.body);
    const current = hub.state().mode;
    if (mode !== current) {
      store.setMode(mode, current);
      hub.publishState();
      events.record('mode-changed', { from: current, to: mode });
    }
    return { mode, previousMode: current };
  });

  admin.get('/auth/certificates', async (request) => {
    const { service } = parse(z.object({ service: z.string().max(64).optional() }), request.query, 'query');
    return {
      certificates: store.certificates(service ? { service } : {}).map((c) => ({
        serial: c.serial,
        service: c.service,
        instanceId: c.instanceId,
        notBefore: new Date(c.notBefore).toISOString(),
        notAfter: new Date(c.notAfter).toISOString(),
        state: c.revokedAt ? c.revokedReason : c.notAfter <= Date.now() ? 'expired' : 'valid',
      })),
    };
  });

  const withdraw = (reason: 'revoked' | 'expired') => async (request: { body: unknown }) => {
    const target = parse(certificateTarget, request.body);
    const serials = store.withdraw(
      {
        ...(target.service ? { service: target.service } : {}),
        ...(target.serial ? { serial: target.serial.toLowerCase() } : {}),
      },
      reason,
    );
    if (serials.length === 0) throw notFound('no valid certificate matches');
    const services = new Set(
      store
        .certificates()
        .filter((c) => serials.includes(c.serial))
        .map((c) => c.service),
    );
    if (target.holdSeconds) for (const service of services) store.hold(service, target.holdSeconds);
    for (const service of services) await deps.ca?.registerClient(service);
    hub.publishState();
    events.record('certificate-withdrawn', {
      reason,
      serials: serials.join(','),
      services: [...services].join(','),
    });
    return { [reason]: serials };
  };
  admin.post('/auth/certificates/revoke', withdraw('revoked'));
  admin.post('/auth/certificates/expire', withdraw('expired'));
  // Ends a hold early: the chaos engine's undo of a held revocation or expiry.
  admin.post('/auth/certificates/release', async (request) => {
    const { service } = parse(releaseBody, request.body);
    return { service, released: store.release(service) };
  });

  admin.get('/auth/events', async (request) => {
    const { limit, kind } = parse(eventsQuery, request.query, 'query');
    return { events: events.list(limit, kind) };
  });
}

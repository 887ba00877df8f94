/**
 * The auth part of the contract: trust in the running cluster as an operator sees and breaks it —
 * the service-to-service mode, signing keys, shared secrets, service certificates, user grants
 * and tokens, the gateway's revocation check and the refusals it causes. Spread into COMMANDS and
 * EVENTS.
 *
 * Nothing here ever carries a token value, a secret or a private key: tokens are listed by `jti`,
 * keys by `kid`, certificates by serial. Changes that break something (revocations, rotations, a
 * mode switch, a withdrawn certificate) go through the chaos engine, so each answer carries the
 * engine's record (`fault`) beside what auth reported (`auth`).
 */
import { z } from 'zod';
import { faultRecordSchema } from './chaos.ts';
import { serviceNameSchema } from './schemas.ts';

export const AUTH_MODES = ['mtls', 'jwt-secret', 'oauth'] as const;
export const authModeSchema = z.enum(AUTH_MODES, {
  error: (issue) => `unknown auth mode "${String(issue.input)}"; valid: ${AUTH_MODES.join(', ')}`,
});
export type AuthMode = z.infer<typeof authModeSchema>;

/** Services with a cluster certificate and the trust routes (registry and loadgen have neither). */
export const TRUSTED_SERVICES = ['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway'] as const;

const handle = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'a user handle (letters, digits, _ . -)');
const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

// The shapes below copy what auth's admin routes answer (sample-cluster/runtime/auth-admin.ts),
// which the contract may not import; electron/control/contract-drift.spec.ts keeps them equal.

export const signingKeyInfoSchema = z.object({
  kid: z.string(),
  createdAt: z.string(),
  /** Set once a newer key signs; a retired key stays in the JWKS until its tokens expire. */
  retiredAt: z.string().nullable(),
  ageSeconds: z.number(),
  /** The key that signs new tokens now. */
  current: z.boolean(),
});

export const certificateInfoSchema = z.object({
  serial: z.string(),
  service: z.string(),
  instanceId: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  state: z.enum(['valid', 'revoked', 'expired']),
  /** Seconds until notAfter at the time of the answer (negative once past). */
  expiresInSeconds: z.number(),
  /** The certificate an instance presents right now (false: an older or withdrawn one). */
  inUse: z.boolean(),
});
export type CertificateInfo = z.infer<typeof certificateInfoSchema>;

export const grantInfoSchema = z.object({
  grantId: z.string(),
  accountId: z.string().nullable(),
  clientId: z.string().nullable(),
  scopes: z.array(z.string()),
  issuedAt: z.number().nullable(),
  expiresAt: z.number().nullable(),
  refreshTokens: z.number(),
  accessTokens: z.number(),
});
export type GrantInfo = z.infer<typeof grantInfoSchema>;

/** An issued token by its id: never its value. */
export const tokenInfoSchema = z.object({
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
export type TokenInfo = z.infer<typeof tokenInfoSchema>;

export const authEventInfoSchema = z.object({
  at: z.string(),
  kind: z.string(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type AuthEventInfo = z.infer<typeof authEventInfoSchema>;

/** The gateway's check of user tokens against revocations, with the push lag it measured. */
export const revocationInfoSchema = z.object({
  instanceId: z.string(),
  mode: z.enum(['push', 'introspection']),
  cacheMs: z.number(),
  streamConnected: z.boolean(),
  synced: z.boolean(),
  revokedTokens: z.number(),
  revokedSubjects: z.number(),
  introspections: z.number(),
  fallbackChecks: z.number(),
  /** From auth's revocation to the gateway holding it (the push stream), in ms. */
  pushLagMs: z.object({
    samples: z.number(),
    p50: z.number().nullable(),
    p99: z.number().nullable(),
    max: z.number().nullable(),
  }),
});
export type RevocationInfo = z.infer<typeof revocationInfoSchema>;

export const instanceTrustInfoSchema = z.object({
  service: serviceNameSchema,
  instanceId: z.string(),
  mode: authModeSchema.nullable(),
  streamConnected: z.boolean(),
  certificate: z.object({ serial: z.string(), notBefore: z.string(), notAfter: z.string() }).nullable(),
  /** Service calls this instance refused, by reason. */
  refused: z.record(z.string(), z.number()),
  rotations: z.number(),
});
export type InstanceTrustInfo = z.infer<typeof instanceTrustInfoSchema>;

export const authStatusSchema = z.object({
  mode: authModeSchema,
  previousMode: authModeSchema.nullable(),
  modeChangedAt: z.string().nullable(),
  signingKeys: z.array(signingKeyInfoSchema),
  /** Shared-secret versions (jwt-secret mode), by kid: never the secret. */
  secrets: z.array(z.object({ kid: z.string(), signFrom: z.string() })),
  certificates: z.array(certificateInfoSchema),
  revokedCertificates: z.number(),
  /** Instances listening to auth's trust stream. */
  subscribers: z.number(),
  instances: z.array(instanceTrustInfoSchema),
  /** One per gateway instance. */
  revocation: z.array(revocationInfoSchema),
  /** 401 and 403 answers: to users at the gateway, and to service calls everywhere. */
  refusals: z.object({
    users: z.object({
      unauthorized: z.number(),
      forbidden: z.number(),
      byReason: z.record(z.string(), z.number()),
    }),
    services: z.object({ total: z.number(), byReason: z.record(z.string(), z.number()) }),
  }),
  unreachable: z.array(z.object({ instanceId: z.string(), reason: z.string() })),
  at: z.string(),
});
export type AuthStatusInfo = z.infer<typeof authStatusSchema>;

/** What a change through the chaos engine answers: the engine's record and what auth said. */
const changed = <T extends z.ZodType>(auth: T) => z.object({ fault: faultRecordSchema.nullable(), auth });

export const revokeInputSchema = z.union([
  z.object({ user: handle }).strict(),
  z.object({ token: z.string().min(1).max(8192) }).strict(),
  z.object({ grant: id }).strict(),
  z.object({ jti: id }).strict(),
]);
export type RevokeInput = z.infer<typeof revokeInputSchema>;

export const revokeResultSchema = z.union([
  z.object({
    revoked: z.literal('user'),
    user: z.string(),
    /** As auth counted them (its `revoked` event); null when that event could not be read. */
    grants: z.number().nullable(),
    accessTokens: z.number().nullable(),
  }),
  z.object({ revoked: z.literal('grant'), grant: z.string() }),
  z.object({ revoked: z.literal('access_token'), jti: z.string() }),
]);

export const AUTH_COMMANDS = {
  /**
   * Mode, signing keys (kids, ages), shared-secret versions, certificates with expiry, each
   * trusted instance's view, the gateway's revocation stats (measured push lag) and 401/403 counts.
   */
  'auth.status': { input: z.object({}).strict().default({}), output: authStatusSchema },
  /** User grants (refresh token families), optionally of one user. */
  'auth.grants': {
    input: z.object({ user: handle.optional() }).strict().default({}),
    output: z.object({ grants: z.array(grantInfoSchema) }),
  },
  /** Issued tokens by jti, newest first, optionally of one user; never their values. */
  'auth.tokens': {
    input: z
      .object({ user: handle.optional(), limit: z.number().int().min(1).max(1000).default(100) })
      .strict()
      .default({ limit: 100 }),
    output: z.object({ tokens: z.array(tokenInfoSchema) }),
  },
  /**
   * Revoke everything of a user, one grant, or one access token (by value or jti). The gateway
   * refuses it within milliseconds (the push stream).
   */
  'auth.revoke': { input: revokeInputSchema, output: changed(revokeResultSchema) },
  /** A new signing key; the old ones stay in the JWKS while their tokens live. */
  'auth.rotateKeys': {
    input: z.object({}).strict().default({}),
    output: changed(z.object({ kid: z.string(), published: z.array(z.string()) })),
  },
  /** A new shared secret for the jwt-secret mode; the old one overlaps. */
  'auth.rotateSecret': {
    input: z.object({}).strict().default({}),
    output: changed(
      z.object({ kid: z.string(), secrets: z.array(z.object({ kid: z.string(), signFrom: z.string() })) }),
    ),
  },
  /** Switch every service's service-to-service auth mode. */
  'auth.mode': {
    input: z.object({ mode: authModeSchema }).strict(),
    output: changed(z.object({ mode: authModeSchema, previousMode: authModeSchema })),
  },
  /**
   * Withdraw a service's certificates (revoke, or force them expired: peers refuse them, holders
   * enroll again), or make its instances renew now. `holdSeconds` (revoke): no new certificate
   * for that long.
   */
  'auth.certificate': {
    input: z
      .object({
        service: z.enum(TRUSTED_SERVICES, {
          error: (issue) =>
            `"${String(issue.input)}" has no certificate; services with one: ${TRUSTED_SERVICES.join(', ')}`,
        }),
        action: z.enum(['revoke', 'expire', 'renew']),
        holdSeconds: z.number().int().min(1).max(3600).optional(),
      })
      .strict()
      .refine((v) => v.holdSeconds === undefined || v.action === 'revoke', {
        message: 'holdSeconds goes with action "revoke"',
        path: ['holdSeconds'],
      }),
    output: changed(
      z.object({
        action: z.enum(['revoke', 'expire', 'renew']),
        service: serviceNameSchema,
        serials: z.array(z.string()),
        certificates: z.array(certificateInfoSchema),
      }),
    ),
  },
  /** Auth's recent events (issued, refreshed, revoked, refused, rotations…), newest first. */
  'auth.events': {
    input: z
      .object({
        limit: z.number().int().min(1).max(1000).default(100),
        kind: z
          .string()
          .regex(/^[a-z-]{1,40}$/)
          .optional(),
      })
      .strict()
      .default({ limit: 100 }),
    output: z.object({ events: z.array(authEventInfoSchema) }),
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const AUTH_EVENTS = {} as const satisfies Record<string, z.ZodType>;

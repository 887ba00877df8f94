/**
 * What the auth service (the trust authority) and every instance say to each other: enrollment,
 * and the trust event stream (`GET /trust/events`, Server-Sent Events over mutual TLS). Validated
 * with zod on both ends.
 */
import { z } from 'zod';
import { TRUST_MODES } from './identity.ts';

export const TRUST_EVENTS_PATH = '/trust/events';
export const TRUST_ENROLL_PATH = '/trust/enroll';
/** oidc-provider's token endpoint, reached over the trust plane by services (client credentials). */
export const TRUST_TOKEN_PATH = '/trust/token';
export const TRUST_INTROSPECT_PATH = '/trust/introspect';
/** Header that carries a service credential (JWT modes), apart from a user's Authorization. */
export const SERVICE_AUTHORIZATION_HEADER = 'x-service-authorization';
/** Registry metadata key: where an instance's mutual-TLS listener is. */
export const TLS_META_KEY = 'tls';
/** The stream sends a comment this often; silence for three times as long means it is dead. */
export const TRUST_PING_MS = 5_000;

export const trustModeSchema = z.enum(TRUST_MODES);

export const sharedSecretSchema = z.object({
  kid: z.string().min(1).max(64),
  secret: z.string().min(43).max(200),
  signFrom: z.number().int(),
});

export const revokedCertificateSchema = z.object({
  serial: z.string().min(1).max(64),
  service: z.string(),
  reason: z.enum(['revoked', 'expired']),
  /** Epoch ms after which the entry may be dropped (the certificate expires by then anyway). */
  until: z.number().int(),
});
export type RevokedCertificate = z.infer<typeof revokedCertificateSchema>;

export const trustStateSchema = z.object({
  mode: trustModeSchema,
  /** The mode before the last switch; accepted for a short grace after `modeChangedAt`. */
  previousMode: trustModeSchema.nullable(),
  modeChangedAt: z.number().int(),
  secrets: z.array(sharedSecretSchema),
  revokedCertificates: z.array(revokedCertificateSchema),
  /** Public keys of the authorization server (user and service access tokens). */
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
});
export type TrustState = z.infer<typeof trustStateSchema>;

export const revocationsSchema = z.object({
  /** true: replaces what the listener knew (the first message on a stream). */
  full: z.boolean(),
  tokens: z.array(z.object({ jti: z.string().min(1), exp: z.number(), sub: z.string().optional() })),
  /** Tokens of `sub` issued at or before `before` (epoch seconds) are revoked. */
  subjects: z.array(z.object({ sub: z.string().min(1), before: z.number() })),
  /** Epoch ms at auth when the revocation was decided (for propagation measurements). */
  at: z.number().int(),
});
export type Revocations = z.infer<typeof revocationsSchema>;

export const enrollRequestSchema = z.strictObject({
  service: z.string().regex(/^[a-z][a-z0-9-]*$/),
  instanceId: z.string().min(1).max(200),
  publicKey: z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() }),
  token: z.string().min(16).max(200),
  /** Requested lifetime; auth caps it. */
  ttlSeconds: z.number().int().min(30).max(86_400).optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.object({
  certificate: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
  serial: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

import { z } from 'zod';
import { baseConfigSchema } from '../../kit/config.ts';
import { TRUST_MODES } from '../../kit/trust/identity.ts';

export const authConfigSchema = baseConfigSchema.extend({
  /**
   * The resource indicator (RFC 8707) of the public API. Clients may omit `resource`; the server
   * then defaults to this one, so every access token is a JWT for the API.
   */
  API_RESOURCE: z.url().default('urn:chaoscope:api'),
  /** `aud` of every API access token; the gateway's API_AUDIENCE must be the same. */
  API_AUDIENCE: z.string().min(1).default('chaoscope-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(86_400)
    .default(15 * 60),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(14 * 86_400),
  /** Lifetime of a service's client-credentials access token (oauth mode). */
  SERVICE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3_600).default(300),
  /** The cluster CA's private key (PEM): auth is the CA's signing service. Required with TRUST_CA_CERT. */
  TRUST_CA_KEY: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().includes('PRIVATE KEY').optional(),
  ),
  /** The secret behind every instance's enrollment credential (see kit/trust/enrollment.ts). */
  TRUST_ENROLL_SECRET: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(32).optional()),
  /** Service-to-service auth mode of a new cluster; changed live through the admin API afterwards. */
  TRUST_MODE: z.enum(TRUST_MODES).default('mtls'),
});

export type AuthConfig = z.infer<typeof authConfigSchema>;

/** Scopes of the API resource server; the gateway checks them per route. */
export const API_SCOPES = ['tweets:read', 'tweets:write', 'follows:write'] as const;
/** OpenID / OAuth scopes the authorization server itself understands. */
export const OIDC_SCOPES = ['openid', 'offline_access'] as const;

export const CLI_CLIENT_ID = 'chaoscope-cli';

import { z } from 'zod';
import { baseConfigSchema } from '../../kit/config.ts';

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
});

export type AuthConfig = z.infer<typeof authConfigSchema>;

/** Scopes of the API resource server; the gateway checks them per route. */
export const API_SCOPES = ['tweets:read', 'tweets:write', 'follows:write'] as const;
/** OpenID / OAuth scopes the authorization server itself understands. */
export const OIDC_SCOPES = ['openid', 'offline_access'] as const;

export const CLI_CLIENT_ID = 'chaoscope-cli';

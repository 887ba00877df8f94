import { z } from 'zod';
import { baseConfigSchema } from '../../kit/config.ts';
import { REVOCATION_MODES } from './revocation.ts';

export const gatewayConfigSchema = baseConfigSchema.extend({
  /** Audience every access token must carry (RFC 9068 `aud`). */
  API_AUDIENCE: z.string().min(1).default('chaoscope-api'),
  /** Token bucket per user: sustained requests per second and burst. */
  RATE_LIMIT_USER_RPS: z.coerce.number().positive().default(50),
  RATE_LIMIT_USER_BURST: z.coerce.number().int().positive().default(100),
  /** Token bucket per OAuth client (or per address for anonymous requests). */
  RATE_LIMIT_CLIENT_RPS: z.coerce.number().positive().default(500),
  RATE_LIMIT_CLIENT_BURST: z.coerce.number().int().positive().default(1000),
  /** Accepted clock difference when checking exp/nbf/iat. */
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** How revoked tokens are recognised: pushed by auth (default) or asked of auth per token. */
  REVOCATION_MODE: z.enum(REVOCATION_MODES).default('push'),
  /** introspection: how long one answer of auth is reused (0: ask every time). */
  INTROSPECTION_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(0),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

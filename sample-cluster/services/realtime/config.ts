import { z } from 'zod';
import { baseConfigSchema } from '../../kit/config.ts';

export const realtimeConfigSchema = baseConfigSchema.extend({
  /** Open streams allowed at once; more get 503 so one instance cannot be exhausted. */
  REALTIME_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /** A comment line this often keeps proxies from closing idle streams and reveals dead peers. */
  REALTIME_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  /** How long an author's follower list is reused before users is asked again (0: never reuse). */
  REALTIME_FOLLOWER_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
});

export type RealtimeConfig = z.infer<typeof realtimeConfigSchema>;

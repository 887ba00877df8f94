import type { ServiceDefinition } from '../../kit/server.ts';
import { realtimeConfigSchema } from './config.ts';
import { FollowerCache } from './follower-cache.ts';
import { RecentSet } from './recent-set.ts';
import { registerRealtimeRoutes } from './routes.ts';
import { StreamHub } from './stream-hub.ts';

/** Tweet ids remembered for deduplicating redelivered events. */
const RECENT_TWEETS = 10_000;

/** Pushes new tweets to the followers' open Server-Sent Event streams. State is in memory only. */
export const realtimeService: ServiceDefinition<typeof realtimeConfigSchema> = {
  configSchema: realtimeConfigSchema,
  setup(app, ctx) {
    const hub = new StreamHub({
      maxConnections: ctx.config.REALTIME_MAX_CONNECTIONS,
      heartbeatMs: ctx.config.REALTIME_HEARTBEAT_MS,
      log: ctx.log,
    });
    const followers = new FollowerCache({ client: ctx.client, ttlMs: ctx.config.REALTIME_FOLLOWER_CACHE_MS });
    registerRealtimeRoutes(app, { hub, followers, recent: new RecentSet(RECENT_TWEETS) });
    app.addHook('preClose', async () => hub.closeAll());
  },
};

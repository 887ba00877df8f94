import { join } from 'node:path';
import type { baseConfigSchema } from '../../kit/config.ts';
import { Outbox } from '../../kit/outbox.ts';
import type { ServiceDefinition } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { TWEETS_MIGRATIONS } from './migrations.ts';
import { registerTweetRoutes } from './routes.ts';
import { TweetStore } from './tweet-store.ts';

export const TWEETS_DB_FILE = 'tweets.db';
const PURGE_INTERVAL_MS = 10 * 60_000;

/** Where `tweet.posted` goes; both acknowledge with 2xx once they have what they need. */
export const TWEET_EVENT_ROUTES = {
  timeline: { service: 'timeline', path: '/v1/events/tweet-posted' },
  realtime: { service: 'realtime', path: '/v1/events/tweet-posted' },
} as const;

/** Post and read tweets; a transactional outbox announces each new tweet to timeline and realtime. */
export const tweetsService: ServiceDefinition<typeof baseConfigSchema> = {
  setup(app, ctx) {
    const db = openDatabase(join(ctx.config.DATA_DIR, TWEETS_DB_FILE), TWEETS_MIGRATIONS);
    ctx.onClose(() => db.close());

    const outbox = new Outbox({
      db,
      client: ctx.client,
      routes: TWEET_EVENT_ROUTES,
      log: ctx.log.child({ component: 'outbox' }),
    });
    outbox.start();
    // Registered after the database's hook, so it runs before it: the last delivery pass finishes first.
    ctx.onClose(() => outbox.stop());

    const store = new TweetStore(db, outbox);
    const purge = setInterval(() => store.purgeIdempotencyKeys(), PURGE_INTERVAL_MS);
    purge.unref();
    ctx.onClose(() => clearInterval(purge));

    registerTweetRoutes(app, {
      store,
      // Deliver at once rather than at the next poll, but only after the answer is on its way:
      // the client waits for the commit, never for timeline or realtime.
      afterCommit: () =>
        setImmediate(() => {
          outbox.flush().catch((error: unknown) => ctx.log.error({ err: error }, 'outbox pass failed'));
        }),
    });
    ctx.admin.add((admin) => {
      admin.get('/outbox', async () => outbox.stats());
    });
  },
};

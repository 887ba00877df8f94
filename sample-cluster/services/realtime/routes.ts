import type { FastifyInstance } from 'fastify';
import { UpstreamError } from '../../kit/service-client.ts';
import { parse } from '../../kit/validate.ts';
import type { FollowerCache } from './follower-cache.ts';
import type { RecentSet } from './recent-set.ts';
import { streamParams, tweetPostedEvent } from './schemas.ts';
import type { StreamHub } from './stream-hub.ts';

export function registerRealtimeRoutes(
  app: FastifyInstance,
  deps: { hub: StreamHub; followers: FollowerCache; recent: RecentSet },
): void {
  const { hub, followers, recent } = deps;

  app.get('/v1/stream/:handle', async (request, reply) => {
    const { handle } = parse(streamParams, request.params, 'params');
    hub.attach(request, reply, handle);
    return reply;
  });

  /**
   * A new tweet: push it to the open streams of the author's followers and of the author.
   *
   * Always 202, even when users cannot say who the followers are: real-time delivery is best
   * effort and the home timeline is the durable record. Answering 5xx would make the outbox
   * redeliver later, when the moment for a "live" push has passed; so the author's own streams
   * still get the tweet and followers see it on their next timeline read.
   */
  app.post('/v1/events/tweet-posted', async (request, reply) => {
    const event = parse(tweetPostedEvent, request.body);
    if (!recent.add(event.tweetId))
      return reply.code(202).send({ tweetId: event.tweetId, duplicate: true, delivered: 0, degraded: false });

    const recipients = new Set([event.author]);
    let degraded = false;
    if (someoneElseListens(hub, event.author)) {
      try {
        const audience = await followers.followers(event.author, request.id);
        // Walk the smaller side: a popular author's followers, or the few handles streaming now.
        if (audience.size < hub.stats().handles) {
          for (const handle of audience) if (hub.isConnected(handle)) recipients.add(handle);
        } else {
          for (const handle of hub.connectedHandles()) if (audience.has(handle)) recipients.add(handle);
        }
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        degraded = true;
        request.log.warn(
          { tweetId: event.tweetId, err: error.message },
          'followers unknown (users unavailable); delivering to the author only',
        );
      }
    }
    const tweet = { id: event.tweetId, author: event.author, text: event.text, createdAt: event.createdAt };
    const delivered = hub.publish(recipients, 'tweet', tweet, event.tweetId);
    return reply.code(202).send({ tweetId: event.tweetId, duplicate: false, delivered, degraded });
  });

  app.get('/v1/stats', async () => hub.stats());
}

/** Skip the users lookup when no stream other than the author's is open: nobody else could get it. */
function someoneElseListens(hub: StreamHub, author: string): boolean {
  for (const handle of hub.connectedHandles()) if (handle !== author) return true;
  return false;
}

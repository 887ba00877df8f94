import type { FastifyInstance } from 'fastify';
import type { ServiceClient } from '../../kit/service-client.ts';
import { parse } from '../../kit/validate.ts';
import { fetchAllFollowers } from './followers.ts';
import { timelineParams, timelineQuery, tweetPostedEvent } from './schemas.ts';
import type { TimelineKind, TimelineStore } from './timeline-store.ts';

export function registerTimelineRoutes(
  app: FastifyInstance,
  deps: { store: TimelineStore; client: ServiceClient },
): void {
  const { store, client } = deps;

  /** Fan-out on write. Idempotent by tweet id, because the outbox delivers at least once. */
  app.post('/v1/events/tweet-posted', async (request) => {
    const event = parse(tweetPostedEvent, request.body);
    if (store.isProcessed(event.tweetId)) return { tweetId: event.tweetId, duplicate: true, recipients: 0 };
    const followers = await fetchAllFollowers(client, event.author, request.id);
    const { applied, recipients } = store.fanOut(event, followers);
    if (applied) request.log.debug({ tweetId: event.tweetId, recipients }, 'tweet fanned out');
    return { tweetId: event.tweetId, duplicate: !applied, recipients };
  });

  const readTimeline = (kind: TimelineKind) => async (request: { params: unknown; query: unknown }) => {
    const { handle } = parse(timelineParams, request.params, 'params');
    const { limit, before } = parse(timelineQuery, request.query, 'query');
    // A handle the timeline has never seen simply has an empty timeline: timeline does not own users.
    return store.page(kind, handle, limit, before);
  };
  app.get('/v1/timelines/home/:handle', readTimeline('home'));
  app.get('/v1/timelines/user/:handle', readTimeline('user'));
}

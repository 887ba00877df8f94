import type { FastifyReply } from 'fastify';
import type { CallResult, ServiceClient } from '../../kit/service-client.ts';
import { Lru } from './lru.ts';

export interface TimelineItem {
  readonly tweetId: string;
  readonly author: string;
  readonly createdAt: string;
}
export interface Tweet {
  readonly id: string;
  readonly author: string;
  readonly text: string;
  readonly createdAt: string;
}
export interface Profile {
  readonly handle: string;
  readonly displayName: string;
}
export interface HydratedTweet {
  readonly id: string;
  readonly text: string;
  readonly createdAt: string;
  readonly author: Profile;
}
export interface Degradation {
  readonly service: string;
  readonly reason: string;
}
export interface TimelinePage {
  readonly items: HydratedTweet[];
  readonly next: string | null;
  readonly degraded: boolean;
  readonly degradedReasons: Degradation[];
}

export const DEGRADED_HEADER = 'x-chaoscope-degraded';

/**
 * Builds the timelines users see from three services. Each downstream has its own fallback: when
 * timeline is down the page is composed from the authors the user follows; when users is down,
 * authors are shown by handle. The answer says what was degraded and why.
 */
export class TimelineAggregator {
  private readonly client: ServiceClient;
  /** The last good page per user: the fallback of last resort. */
  private readonly lastGood = new Lru<string, TimelinePage>(5_000);

  constructor(client: ServiceClient) {
    this.client = client;
  }

  async home(handle: string, limit: number, requestId: string): Promise<TimelinePage> {
    const reasons: Degradation[] = [];
    let ids: CallResult<{ items: TimelineItem[]; next: string | null }>;
    try {
      ids = await this.client.request('timeline', {
        path: `/v1/timelines/home/${handle}`,
        query: { limit },
        requestId,
        throwOn4xx: true,
        fallback: () => this.composeHome(handle, limit, requestId),
      });
    } catch (error) {
      // Timeline and the composition both failed: serve the last page this user saw, if any.
      const cached = this.lastGood.get(handle);
      if (!cached) throw error;
      return {
        ...cached,
        degraded: true,
        degradedReasons: [
          { service: 'timeline', reason: 'served from cache: timeline and its fallback are unavailable' },
        ],
      };
    }
    if (ids.degraded) reasons.push({ service: 'timeline', reason: ids.cause ?? 'timeline unavailable' });
    const page = await this.hydrate(ids.body.items, ids.body.next, requestId, reasons);
    if (!page.degraded) this.lastGood.set(handle, page);
    return page;
  }

  async userTweets(handle: string, limit: number, requestId: string): Promise<TimelinePage> {
    const reasons: Degradation[] = [];
    const ids = await this.client.request<{ items: TimelineItem[]; next: string | null }>('timeline', {
      path: `/v1/timelines/user/${handle}`,
      query: { limit },
      requestId,
      throwOn4xx: true,
      fallback: async () => {
        const tweets = await this.tweetsBy([handle], limit, requestId);
        return { items: tweets.map(toItem), next: null };
      },
    });
    if (ids.degraded) reasons.push({ service: 'timeline', reason: ids.cause ?? 'timeline unavailable' });
    return this.hydrate(ids.body.items, ids.body.next, requestId, reasons);
  }

  /** Fan-out on read, the slow way, for when the fan-out-on-write store is unreachable. */
  private async composeHome(
    handle: string,
    limit: number,
    requestId: string,
  ): Promise<{ items: TimelineItem[]; next: string | null }> {
    const following = await this.client.request<{ handles: string[] }>('users', {
      path: `/v1/users/${handle}/following`,
      query: { limit: 1000 },
      requestId,
      throwOn4xx: true,
    });
    const tweets = await this.tweetsBy([handle, ...following.body.handles], limit, requestId);
    return { items: tweets.map(toItem), next: null };
  }

  private async tweetsBy(authors: string[], limit: number, requestId: string): Promise<Tweet[]> {
    const query = new URLSearchParams(authors.slice(0, 200).map((a): [string, string] => ['author', a]));
    query.set('limit', String(limit));
    const result = await this.client.request<{ tweets: Tweet[] }>('tweets', {
      path: `/v1/tweets?${query.toString()}`,
      requestId,
      throwOn4xx: true,
    });
    return result.body.tweets;
  }

  private async hydrate(
    items: TimelineItem[],
    next: string | null,
    requestId: string,
    reasons: Degradation[],
  ): Promise<TimelinePage> {
    if (items.length === 0)
      return { items: [], next, degraded: reasons.length > 0, degradedReasons: reasons };
    const tweets = await this.client.request<{ tweets: Tweet[] }>('tweets', {
      method: 'POST',
      path: '/v1/tweets/batch',
      body: { ids: items.map((i) => i.tweetId) },
      requestId,
      throwOn4xx: true,
    });
    const handles = [...new Set(tweets.body.tweets.map((t) => t.author))];
    const profiles = handles.length
      ? await this.client.request<{ users: Profile[] }>('users', {
          method: 'POST',
          path: '/v1/users/batch',
          body: { handles },
          requestId,
          throwOn4xx: true,
          fallback: () => ({ users: handles.map((h) => ({ handle: h, displayName: h })) }),
        })
      : undefined;
    if (profiles?.degraded) reasons.push({ service: 'users', reason: profiles.cause ?? 'users unavailable' });
    const byHandle = new Map((profiles?.body.users ?? []).map((p) => [p.handle, p]));
    return {
      items: tweets.body.tweets.map((t) => ({
        id: t.id,
        text: t.text,
        createdAt: t.createdAt,
        author: toProfile(byHandle.get(t.author) ?? { handle: t.author, displayName: t.author }),
      })),
      next,
      degraded: reasons.length > 0,
      degradedReasons: reasons,
    };
  }
}

function toItem(t: Tweet): TimelineItem {
  return { tweetId: t.id, author: t.author, createdAt: t.createdAt };
}

function toProfile(p: Profile): Profile {
  return { handle: p.handle, displayName: p.displayName };
}

/** Say in a header, too, that the answer came (partly) from fallbacks. */
export function markDegraded(reply: FastifyReply, reasons: readonly Degradation[]): void {
  if (reasons.length > 0)
    reply.header(DEGRADED_HEADER, [...new Set(reasons.map((r) => r.service))].join(','));
}

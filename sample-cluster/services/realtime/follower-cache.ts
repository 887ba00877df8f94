import { UpstreamError, type ServiceClient } from '../../kit/service-client.ts';
import { handlePage } from './schemas.ts';

const PAGE_SIZE = 1000;
const MAX_AUTHORS = 10_000;
/** Real-time delivery is best effort; a slow users must not hold the outbox for long. */
const LOOKUP_TIMEOUT_MS = 1_500;

/**
 * Followers per author, reused for a few seconds: an author who posts in bursts costs one lookup,
 * and concurrent events for one author share it. A follow made meanwhile shows up after the TTL.
 */
export class FollowerCache {
  private readonly client: ServiceClient;
  private readonly ttlMs: number;
  private readonly entries = new Map<string, { at: number; followers: ReadonlySet<string> }>();
  private readonly inFlight = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(options: { client: ServiceClient; ttlMs: number }) {
    this.client = options.client;
    this.ttlMs = options.ttlMs;
  }

  followers(author: string, requestId?: string): Promise<ReadonlySet<string>> {
    const entry = this.entries.get(author);
    if (entry && Date.now() - entry.at < this.ttlMs) return Promise.resolve(entry.followers);
    let pending = this.inFlight.get(author);
    if (!pending) {
      pending = this.load(author, requestId)
        .then((followers) => {
          this.remember(author, followers);
          return followers;
        })
        .finally(() => this.inFlight.delete(author));
      this.inFlight.set(author, pending);
    }
    return pending;
  }

  private remember(author: string, followers: ReadonlySet<string>): void {
    if (this.ttlMs === 0) return;
    const now = Date.now();
    this.entries.delete(author);
    this.entries.set(author, { at: now, followers });
    // Entries sit in insertion order, which is age order: drop expired ones from the front, and the
    // oldest beyond the cap, so follower lists of authors who went quiet do not stay in memory.
    for (const [key, entry] of this.entries) {
      if (now - entry.at < this.ttlMs && this.entries.size <= MAX_AUTHORS) break;
      this.entries.delete(key);
    }
  }

  private async load(author: string, requestId: string | undefined): Promise<ReadonlySet<string>> {
    const followers = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const result = await this.client.request('users', {
        path: `/v1/users/${encodeURIComponent(author)}/followers`,
        query: { limit: PAGE_SIZE, after },
        timeoutMs: LOOKUP_TIMEOUT_MS,
        ...(requestId ? { requestId } : {}),
      });
      // Nobody can follow a user that users does not know.
      if (result.status === 404) return followers;
      const parsed = result.status === 200 ? handlePage.safeParse(result.body) : undefined;
      if (!parsed?.success)
        throw new UpstreamError(
          'users',
          502,
          `users answered the followers query for "${author}" with ${result.status}`,
          result.status,
        );
      for (const handle of parsed.data.handles) followers.add(handle);
      if (!parsed.data.next || parsed.data.handles.length === 0) return followers;
      after = parsed.data.next;
    }
  }
}

import { UpstreamError, type ServiceClient } from '../../kit/service-client.ts';
import { handlePage } from './schemas.ts';

const PAGE_SIZE = 1000;

/**
 * Every follower of a handle, page by page from users. An unknown handle has no followers (nobody
 * can follow a user users does not know). When users is unavailable the UpstreamError propagates:
 * the event is then answered with 5xx and the outbox delivers it again later.
 */
export async function fetchAllFollowers(
  client: ServiceClient,
  handle: string,
  requestId?: string,
): Promise<string[]> {
  const followers: string[] = [];
  let after: string | undefined;
  for (;;) {
    const result = await client.request('users', {
      path: `/v1/users/${encodeURIComponent(handle)}/followers`,
      query: { limit: PAGE_SIZE, after },
      ...(requestId ? { requestId } : {}),
    });
    if (result.status === 404) return [];
    if (result.status !== 200) {
      // Retrying is the only safe answer: a 4xx here would make the outbox park the event for good.
      throw new UpstreamError(
        'users',
        502,
        `users refused the followers query for "${handle}" (${result.status})`,
        result.status,
      );
    }
    const parsed = handlePage.safeParse(result.body);
    if (!parsed.success)
      throw new UpstreamError(
        'users',
        502,
        `users answered the followers query with an unexpected body`,
        result.status,
      );
    followers.push(...parsed.data.handles);
    if (!parsed.data.next || parsed.data.handles.length === 0) return followers;
    after = parsed.data.next;
  }
}

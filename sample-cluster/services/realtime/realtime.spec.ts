import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../kit/testing.ts';
import { TweetIdGenerator } from '../tweets/tweet-id.ts';
import { usersService } from '../users/service.ts';
import { call, createUser, follow, SseReader, TestCluster } from '../users/test-cluster.ts';
import { realtimeService } from './service.ts';

let cluster: TestCluster;
let url: string;
let usersUrl: string;
const ids = new TweetIdGenerator();
const open: SseReader[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start();
  usersUrl = (await cluster.start('users', usersService)).url;
  url = (await cluster.start('realtime', realtimeService, { REALTIME_HEARTBEAT_MS: '200' })).url;
  for (const handle of ['alice', 'bob', 'carol', 'dave', 'erin']) await createUser(usersUrl, handle);
  await follow(usersUrl, 'bob', 'alice');
  await follow(usersUrl, 'dave', 'erin');
  await follow(usersUrl, 'bob', 'carol');
  await call(usersUrl, 'DELETE', '/v1/users/bob/following/carol');
});
afterAll(async () => {
  for (const stream of open) stream.close();
  await cluster.close();
});

function tweetPosted(author: string, text = 'hello') {
  const { id, time } = ids.next();
  return {
    tweetId: id,
    author,
    text,
    createdAt: new Date(time).toISOString(),
    event: 'tweet.posted',
    eventId: `realtime-${id}`,
  };
}
const deliver = (event: ReturnType<typeof tweetPosted>) =>
  call(url, 'POST', '/v1/events/tweet-posted', event);

async function stream(handle: string): Promise<SseReader> {
  const reader = await SseReader.open(`${url}/v1/stream/${handle}`);
  open.push(reader);
  await reader.next((e) => e.event === 'ready', `the ready event for ${handle}`);
  return reader;
}

describe('realtime: streams', () => {
  it('opens an event stream that starts with a ready event and carries heartbeats', async () => {
    const reader = await stream('dave');
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reader.headers['cache-control']).toBe('no-cache, no-transform');
    expect(reader.headers['x-request-id']).toEqual(expect.any(String));
    expect(reader.data('ready')).toEqual([{ handle: 'dave' }]);
    await waitFor(() => reader.comments.includes('heartbeat'), { what: 'a heartbeat comment' });
    reader.close();
  });

  it('pushes a tweet to followers and to the author, not to those who do not follow', async () => {
    const bob = await stream('bob');
    const alice = await stream('alice');
    const dave = await stream('dave');

    // carol was followed and unfollowed again: her tweet must not reach bob.
    const fromCarol = tweetPosted('carol', 'bob unfollowed me');
    expect((await deliver(fromCarol)).status).toBe(202);
    const fromAlice = tweetPosted('alice', 'hi followers');
    const answer = await deliver(fromAlice);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      tweetId: fromAlice.tweetId,
      duplicate: false,
      degraded: false,
      delivered: 2,
    });

    const expected = {
      id: fromAlice.tweetId,
      author: 'alice',
      text: 'hi followers',
      createdAt: fromAlice.createdAt,
    };
    const got = await bob.next((e) => e.event === 'tweet', 'alice’s tweet at bob');
    expect(got.id).toBe(fromAlice.tweetId);
    expect(bob.data('tweet')).toEqual([expected]);
    await alice.next((e) => e.event === 'tweet', 'alice’s tweet at alice');
    expect(alice.data('tweet')).toEqual([expected]);
    // Events are written before the 202, so nothing is still on its way to dave.
    expect(dave.data('tweet')).toEqual([]);

    // A redelivered event is pushed once only.
    const again = await deliver({ ...fromAlice, eventId: 'realtime-again' });
    expect(again.body).toMatchObject({ duplicate: true, delivered: 0 });
    const later = tweetPosted('alice', 'second');
    await deliver(later);
    await bob.next((e) => e.id === later.tweetId, 'the second tweet');
    expect(bob.data('tweet').map((t) => t.id)).toEqual([fromAlice.tweetId, later.tweetId]);
    for (const reader of [bob, alice, dave]) reader.close();
  });

  it('counts connections and forgets them when clients disconnect', async () => {
    await waitFor(async () => (await call(url, 'GET', '/v1/stats')).body.connections === 0, {
      what: 'earlier streams to be gone',
    });
    const a = await stream('alice');
    const b1 = await stream('bob');
    await stream('bob');
    expect((await call(url, 'GET', '/v1/stats')).body).toEqual({ connections: 3, handles: 2 });
    a.close();
    b1.close();
    await waitFor(
      async () => {
        const { body } = await call(url, 'GET', '/v1/stats');
        return body.connections === 1 && body.handles === 1;
      },
      { what: 'the closed streams to be cleaned up' },
    );
    for (const reader of open) reader.close();
    await waitFor(async () => (await call(url, 'GET', '/v1/stats')).body.connections === 0, {
      what: 'no streams',
    });
  });

  it('refuses streams beyond its connection cap with 503', async () => {
    const capped = await cluster.start('realtime_capped', realtimeService, {
      CHAOSCOPE_SERVICE: 'realtime-capped',
      REALTIME_MAX_CONNECTIONS: '1',
    });
    const first = await SseReader.open(`${capped.url}/v1/stream/alice`);
    open.push(first);
    await first.next((e) => e.event === 'ready');
    const refused = await call(capped.url, 'GET', '/v1/stream/bob');
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.headers['retry-after']).toBe('5');
    first.close();
    await waitFor(async () => (await call(capped.url, 'GET', '/v1/stats')).body.connections === 0, {
      what: 'the slot to free up',
    });
    const second = await SseReader.open(`${capped.url}/v1/stream/bob`);
    open.push(second);
    expect(second.status).toBe(200);
    second.close();
    await cluster.stop('realtime_capped');
  });

  it('refuses malformed handles and events with 400', async () => {
    expect((await call(url, 'GET', '/v1/stream/NOPE')).status).toBe(400);
    const good = tweetPosted('alice');
    for (const bad of [
      { ...good, tweetId: '1' },
      { ...good, author: 'A' },
      { ...good, event: 'other' },
      { ...good, text: '' },
    ]) {
      expect((await deliver(bad)).status, JSON.stringify(bad)).toBe(400);
    }
  });
});

describe('realtime: users unavailable', () => {
  it('still answers 202 and delivers to the author, marking the delivery degraded', async () => {
    const erin = await stream('erin');
    const dave = await stream('dave');
    const alice = await stream('alice');
    const bob = await stream('bob');
    // Looked up just now: alice's followers are cached for a few seconds.
    const warmup = tweetPosted('alice', 'before the outage');
    expect((await deliver(warmup)).body).toMatchObject({ degraded: false, delivered: 2 });
    await cluster.stop('users');
    try {
      const event = tweetPosted('erin', 'users is down');
      const answer = await deliver(event);
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ degraded: true, delivered: 1 });
      await erin.next((e) => e.id === event.tweetId, 'the tweet at its author');

      // The cached follower list still serves while users is down.
      const cached = tweetPosted('alice', 'from the cache');
      expect((await deliver(cached)).body).toMatchObject({ degraded: false, delivered: 2 });
      await bob.next((e) => e.id === cached.tweetId, 'the tweet at bob');
      expect(dave.events.some((e) => e.id === event.tweetId)).toBe(false);
    } finally {
      usersUrl = (await cluster.restart('users')).url;
      for (const reader of [erin, dave, alice, bob]) reader.close();
    }
  });
});

describe('realtime: shutdown', () => {
  it('ends open streams when it closes instead of hanging the drain', async () => {
    const own = await cluster.start('realtime_closing', realtimeService, {
      CHAOSCOPE_SERVICE: 'realtime-closing',
    });
    const reader = await SseReader.open(`${own.url}/v1/stream/alice`);
    open.push(reader);
    await reader.next((e) => e.event === 'ready');
    await cluster.stop('realtime_closing');
    await waitFor(() => reader.closed, { what: 'the stream to end' });
  });
});

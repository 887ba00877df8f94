import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { testEnv, waitFor } from '../../kit/testing.ts';
import { TweetIdGenerator } from '../tweets/tweet-id.ts';
import { usersService } from '../users/service.ts';
import { call, createUser, follow, TestCluster } from '../users/test-cluster.ts';
import { TIMELINE_MIGRATIONS } from './migrations.ts';
import { TIMELINE_DB_FILE, timelineService } from './service.ts';
import type { TimelinePage } from './timeline-store.ts';

let cluster: TestCluster;
let url: string;
let usersUrl: string;
const ids = new TweetIdGenerator();
let deliveries = 0;

beforeAll(async () => {
  cluster = await TestCluster.start();
  usersUrl = (await cluster.start('users', usersService)).url;
  url = (await cluster.start('timeline', timelineService)).url;
});
afterAll(() => cluster.close());

/** An event as tweets' outbox sends it. */
function tweetPosted(author: string, text = 'hello') {
  const { id, time } = ids.next();
  deliveries += 1;
  return {
    tweetId: id,
    author,
    text,
    createdAt: new Date(time).toISOString(),
    event: 'tweet.posted',
    eventId: `timeline-${deliveries}`,
  };
}

const deliver = (event: ReturnType<typeof tweetPosted>) =>
  call(url, 'POST', '/v1/events/tweet-posted', event);
const home = async (handle: string, query = '') =>
  (await call<TimelinePage>(url, 'GET', `/v1/timelines/home/${handle}${query}`)).body;
const user = async (handle: string, query = '') =>
  (await call<TimelinePage>(url, 'GET', `/v1/timelines/user/${handle}${query}`)).body;

describe('timeline: fan-out on write', () => {
  it('puts a tweet into the home timelines of every follower and the author, and the author’s user timeline', async () => {
    for (const handle of ['author', 'reader_1', 'reader_2', 'stranger']) await createUser(usersUrl, handle);
    await follow(usersUrl, 'reader_1', 'author');
    await follow(usersUrl, 'reader_2', 'author');
    await follow(usersUrl, 'author', 'stranger'); // following someone does not bring their follower's tweets

    const event = tweetPosted('author');
    const answer = await deliver(event);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ tweetId: event.tweetId, duplicate: false, recipients: 3 });

    const item = { tweetId: event.tweetId, author: 'author', createdAt: event.createdAt };
    expect(await home('reader_1')).toEqual({ handle: 'reader_1', items: [item], next: null });
    expect((await home('reader_2')).items).toEqual([item]);
    expect((await home('author')).items).toEqual([item]);
    expect((await home('stranger')).items).toEqual([]);
    expect(await user('author')).toEqual({ handle: 'author', items: [item], next: null });
    expect((await user('reader_1')).items).toEqual([]);
  });

  it('fans out to followers beyond one page of users’ answer', async () => {
    await createUser(usersUrl, 'popular');
    const fans = Array.from({ length: 1_005 }, (_, i) => `fan_${String(i).padStart(4, '0')}`);
    for (const fan of fans) {
      await createUser(usersUrl, fan);
      await follow(usersUrl, fan, 'popular');
    }
    const event = tweetPosted('popular');
    expect((await deliver(event)).body).toMatchObject({ recipients: 1_006 });
    expect((await home('fan_0000')).items.map((i) => i.tweetId)).toEqual([event.tweetId]);
    expect((await home('fan_1004')).items.map((i) => i.tweetId)).toEqual([event.tweetId]);
  }, 60_000);

  it('treats a redelivered event as done: no duplicates, 200', async () => {
    await createUser(usersUrl, 'repeater');
    await createUser(usersUrl, 'listener');
    await follow(usersUrl, 'listener', 'repeater');
    const event = tweetPosted('repeater');
    expect((await deliver(event)).status).toBe(200);
    const again = await deliver({ ...event, eventId: 'timeline-redelivery' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ tweetId: event.tweetId, duplicate: true, recipients: 0 });
    expect((await home('listener')).items).toHaveLength(1);
    expect((await user('repeater')).items).toHaveLength(1);
  });

  it('gives an author unknown to users a timeline of their own tweets', async () => {
    const event = tweetPosted('not_yet_known');
    expect((await deliver(event)).body).toMatchObject({ duplicate: false, recipients: 1 });
    expect((await home('not_yet_known')).items.map((i) => i.tweetId)).toEqual([event.tweetId]);
  });

  it('answers 503 while users is down, so the outbox retries, and fans out once users is back', async () => {
    await createUser(usersUrl, 'during');
    await createUser(usersUrl, 'waiting');
    await follow(usersUrl, 'waiting', 'during');
    await cluster.stop('users');
    try {
      const event = tweetPosted('during');
      const refused = await deliver(event);
      expect(refused.status).toBe(503);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.body).toMatchObject({ callee: 'users' });
      expect((await home('during')).items.map((i) => i.tweetId)).not.toContain(event.tweetId);

      usersUrl = (await cluster.restart('users')).url;
      const accepted = await waitFor(
        async () => {
          const answer = await deliver(event);
          return answer.status === 200 ? answer : undefined;
        },
        { timeoutMs: 15_000, what: 'the redelivery to succeed' },
      );
      expect(accepted.body).toEqual({ tweetId: event.tweetId, duplicate: false, recipients: 2 });
      expect((await home('waiting')).items.map((i) => i.tweetId)).toEqual([event.tweetId]);
    } finally {
      if (!isRunning('users')) usersUrl = (await cluster.restart('users')).url;
    }
  });

  it('refuses malformed events with 400 (the outbox parks them instead of retrying)', async () => {
    const good = tweetPosted('author');
    for (const bad of [
      { ...good, tweetId: 'x' },
      { ...good, author: 'NO' },
      { ...good, event: 'tweet.deleted' },
      { ...good, createdAt: 'now' },
      { text: 'hi' },
    ]) {
      const answer = await deliver(bad as typeof good);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
    }
  });
});

describe('timeline: reading', () => {
  it('pages newest first with a before cursor', async () => {
    await createUser(usersUrl, 'pager');
    const events = Array.from({ length: 5 }, (_, i) => tweetPosted('pager', `t${i}`));
    for (const event of events) expect((await deliver(event)).status).toBe(200);
    const newestFirst = events.map((e) => e.tweetId).reverse();

    const first = await home('pager', '?limit=2');
    expect(first.items.map((i) => i.tweetId)).toEqual(newestFirst.slice(0, 2));
    expect(first.next).toBe(newestFirst[1]);
    const second = await home('pager', `?limit=2&before=${first.next}`);
    expect(second.items.map((i) => i.tweetId)).toEqual(newestFirst.slice(2, 4));
    const last = await home('pager', `?limit=2&before=${second.next}`);
    expect(last.items.map((i) => i.tweetId)).toEqual(newestFirst.slice(4));
    expect(last.next).toBeNull();

    expect((await user('pager', '?limit=5')).next).toBeNull();
    expect((await home('nobody_at_all')).items).toEqual([]);
    for (const query of ['?limit=0', '?limit=201', '?before=zzz', '?page=2']) {
      expect((await call(url, 'GET', `/v1/timelines/home/pager${query}`)).status, query).toBe(400);
    }
    expect((await call(url, 'GET', '/v1/timelines/home/NOT_VALID')).status).toBe(400);
  });

  it('is ready while its database is open', async () => {
    const answer = await call(url, 'GET', '/readyz');
    expect(answer.status).toBe(200);
  });
});

describe('timeline: schema versions', () => {
  it('refuses to start on a database written by a newer release, saying so', async () => {
    const env = testEnv('timeline');
    const path = join(String(env.DATA_DIR), TIMELINE_DB_FILE);
    openDatabase(path, TIMELINE_MIGRATIONS).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      2,
      'from the future',
      new Date().toISOString(),
    );
    db.close();
    await expect(startService(timelineService, env)).rejects.toThrow(
      /schema is at version 2 but this code knows versions up to 1.*refusing to start/,
    );
  });
});

function isRunning(service: string): boolean {
  try {
    cluster.get(service);
    return true;
  } catch {
    return false;
  }
}

import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxStats } from '../../kit/outbox.ts';
import { startService } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { testEnv, waitFor } from '../../kit/testing.ts';
import { realtimeService } from '../realtime/service.ts';
import { timelineService } from '../timeline/service.ts';
import type { TimelinePage } from '../timeline/timeline-store.ts';
import { usersService } from '../users/service.ts';
import { call, createUser, SseReader, TestCluster } from '../users/test-cluster.ts';
import { TWEETS_MIGRATIONS } from './migrations.ts';
import { TWEETS_DB_FILE, tweetsService } from './service.ts';
import { TWEET_ID_PATTERN } from './tweet-id.ts';
import type { Tweet } from './tweet-store.ts';

let cluster: TestCluster;
let url: string;

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.start('users', usersService);
  await cluster.start('timeline', timelineService);
  await cluster.start('realtime', realtimeService);
  url = (await cluster.start('tweets', tweetsService)).url;
});
afterAll(() => cluster.close());

const post = (author: string, text: string, headers: Record<string, string> = {}) =>
  call<Tweet>(url, 'POST', '/v1/tweets', { author, text }, headers);

async function outboxStats(): Promise<OutboxStats> {
  const tweets = cluster.get('tweets');
  const answer = await call<OutboxStats>(tweets.url, 'GET', '/admin/outbox', undefined, {
    authorization: `Bearer ${tweets.ctx.config.ADMIN_TOKEN}`,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function userTimeline(handle: string): Promise<string[]> {
  const answer = await call<TimelinePage>(cluster.url('timeline'), 'GET', `/v1/timelines/user/${handle}`);
  return answer.body.items.map((i) => i.tweetId);
}

describe('tweets: posting and reading', () => {
  it('stores a tweet with a time-ordered id and reads it back', async () => {
    const before = Date.now();
    const created = await post('ada', '  hello, world  ');
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['author', 'createdAt', 'id', 'text']);
    expect(created.body).toMatchObject({ author: 'ada', text: 'hello, world' });
    expect(created.body.id).toMatch(TWEET_ID_PATTERN);
    const at = Date.parse(created.body.createdAt);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());

    const read = await call<Tweet>(url, 'GET', `/v1/tweets/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const missing = await call(url, 'GET', '/v1/tweets/01ARYZ6S41TSV4RRFFQ69G5FAV');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect((await call(url, 'GET', '/v1/tweets/not-an-id')).status).toBe(400);
  });

  it('counts characters as people do and refuses empty or too long text', async () => {
    expect((await post('ada', '🐦'.repeat(280))).status).toBe(201);
    const tooLong = await post('ada', 'x'.repeat(281));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({
      status: 400,
      detail: '/body/text: must be at most 280 characters (got 281)',
    });
    expect((await post('ada', '   ')).status).toBe(400);
    expect((await post('Not A Handle', 'hi')).status).toBe(400);
    expect((await call(url, 'POST', '/v1/tweets', { author: 'ada' })).status).toBe(400);
    expect((await call(url, 'POST', '/v1/tweets', { author: 'ada', text: 'hi', id: 'mine' })).status).toBe(
      400,
    );
  });

  it('honours Idempotency-Key: same request, same tweet; same key for something else, 409', async () => {
    const key = 'key-3b1f0c0e-6c55-4a11';
    const first = await post('grace', 'only once', { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const retry = await post('grace', 'only once', { 'idempotency-key': key });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);

    const reused = await post('grace', 'something else', { 'idempotency-key': key });
    expect(reused.status).toBe(409);
    expect(reused.headers['content-type']).toContain('application/problem+json');

    // Keys belong to their author: another user's identical key is a different post.
    const other = await post('linus', 'only once', { 'idempotency-key': key });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);

    const byGrace = await call<{ tweets: Tweet[] }>(url, 'GET', '/v1/tweets?author=grace');
    expect(byGrace.body.tweets.filter((t) => t.text === 'only once')).toHaveLength(1);
    expect((await post('grace', 'x', { 'idempotency-key': 'has spaces in it' })).status).toBe(400);
    expect((await post('grace', 'x', { 'idempotency-key': 'k'.repeat(256) })).status).toBe(400);
  });

  it('answers batches in the order asked, with the missing ids listed', async () => {
    const a = (await post('batcher', 'first')).body;
    const b = (await post('batcher', 'second')).body;
    const ghost = '01ARYZ6S41TSV4RRFFQ69G5FAV';
    const answer = await call<{ tweets: Tweet[]; missing: string[] }>(url, 'POST', '/v1/tweets/batch', {
      ids: [b.id, ghost, a.id, b.id],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.tweets).toEqual([b, a]);
    expect(answer.body.missing).toEqual([ghost]);
    expect((await call(url, 'POST', '/v1/tweets/batch', { ids: [] })).status).toBe(400);
    expect((await call(url, 'POST', '/v1/tweets/batch', { ids: ['nope'] })).status).toBe(400);
  });

  it('lists tweets by one or more authors, newest first, paging with before', async () => {
    const made: Tweet[] = [];
    for (let i = 0; i < 5; i++) made.push((await post(i % 2 ? 'writer_b' : 'writer_a', `tweet ${i}`)).body);
    await post('writer_c', 'not asked for');
    const newestFirst = [...made].reverse();

    const both = await call<{ tweets: Tweet[] }>(
      url,
      'GET',
      '/v1/tweets?author=writer_a&author=writer_b&limit=3',
    );
    expect(both.status).toBe(200);
    expect(both.body.tweets).toEqual(newestFirst.slice(0, 3));
    const older = await call<{ tweets: Tweet[] }>(
      url,
      'GET',
      `/v1/tweets?author=writer_a&author=writer_b&limit=3&before=${both.body.tweets[2]!.id}`,
    );
    expect(older.body.tweets).toEqual(newestFirst.slice(3));

    const one = await call<{ tweets: Tweet[] }>(url, 'GET', '/v1/tweets?author=writer_b');
    expect(one.body.tweets.map((t) => t.text)).toEqual(['tweet 3', 'tweet 1']);

    for (const query of [
      '',
      'limit=5',
      'author=writer_a&limit=0',
      'author=writer_a&limit=201',
      'author=BAD',
      'author=writer_a&before=x',
      'author=writer_a&sort=asc',
    ]) {
      const answer = await call(url, 'GET', `/v1/tweets?${query}`);
      expect(answer.status, query).toBe(400);
    }
  });
});

describe('tweets: outbox', () => {
  it('delivers tweet.posted to timeline and realtime', async () => {
    await createUser(cluster.url('users'), 'poster');
    const stream = await SseReader.open(`${cluster.url('realtime')}/v1/stream/poster`);
    try {
      await stream.next((e) => e.event === 'ready', 'the ready event');
      const tweet = (await post('poster', 'out it goes')).body;
      const pushed = await stream.next((e) => e.event === 'tweet', 'the pushed tweet');
      expect(JSON.parse(pushed.data)).toEqual(tweet);
      await waitFor(async () => (await userTimeline('poster')).includes(tweet.id), {
        what: 'the tweet in the user timeline',
      });
      await waitFor(async () => (await outboxStats()).pending === 0, { what: 'an empty outbox' });
    } finally {
      stream.close();
    }
  });

  it('keeps an event while timeline is down and delivers it once timeline is back; realtime is not held up', async () => {
    await createUser(cluster.url('users'), 'patient');
    await cluster.stop('timeline');
    const stream = await SseReader.open(`${cluster.url('realtime')}/v1/stream/patient`);
    try {
      const tweet = (await post('patient', 'posted during the outage')).body;
      // Realtime is an independent destination: it gets the tweet at once.
      await stream.next((e) => e.event === 'tweet' && e.id === tweet.id, 'the pushed tweet');

      const stuck = await waitFor(
        async () => {
          const stats = await outboxStats();
          return stats.byDestination.timeline?.lastError ? stats : undefined;
        },
        { what: 'a failed delivery to timeline' },
      );
      expect(stuck.byDestination.timeline?.pending).toBeGreaterThanOrEqual(1);
      expect(stuck.byDestination.realtime?.pending).toBe(0);

      await cluster.restart('timeline');
      await waitFor(async () => (await userTimeline('patient')).includes(tweet.id), {
        timeoutMs: 15_000,
        what: 'the tweet in the timeline after restart',
      });
      await waitFor(async () => (await outboxStats()).pending === 0, { what: 'an empty outbox' });
    } finally {
      stream.close();
    }
  });
});

describe('tweets: schema versions', () => {
  it('refuses to start on a database written by a newer release, saying so', async () => {
    const env = testEnv('tweets');
    const path = join(String(env.DATA_DIR), TWEETS_DB_FILE);
    openDatabase(path, TWEETS_MIGRATIONS).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      7,
      'from the future',
      new Date().toISOString(),
    );
    db.close();
    await expect(startService(tweetsService, env)).rejects.toThrow(
      /schema is at version 7 but this code knows versions up to 1.*refusing to start/,
    );
  });
});

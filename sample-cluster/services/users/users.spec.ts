import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService } from '../../kit/server.ts';
import { openDatabase } from '../../kit/storage.ts';
import { testEnv } from '../../kit/testing.ts';
import { USERS_MIGRATIONS } from './migrations.ts';
import { USERS_DB_FILE, usersService } from './service.ts';
import { call, createUser, TestCluster } from './test-cluster.ts';
import type { HandlePage, Profile } from './user-store.ts';

let cluster: TestCluster;
let url: string;

beforeAll(async () => {
  cluster = await TestCluster.start();
  url = (await cluster.start('users', usersService)).url;
});
afterAll(() => cluster.close());

const profile = (handle: string, displayName = `User ${handle}`) => ({
  handle,
  displayName,
  createdAt: '2025-01-02T03:04:05.000Z',
});

describe('users: profiles', () => {
  it('creates a profile once; a redelivered sign-up is 200 and changes nothing', async () => {
    const created = await call<Profile>(url, 'PUT', '/v1/users/ada', profile('ada', 'Ada Lovelace'));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      handle: 'ada',
      displayName: 'Ada Lovelace',
      createdAt: '2025-01-02T03:04:05.000Z',
      followers: 0,
      following: 0,
    });

    const again = await call<Profile>(url, 'PUT', '/v1/users/ada', profile('ada', 'Someone Else'));
    expect(again.status).toBe(200);
    expect(again.body.displayName).toBe('Ada Lovelace');

    const read = await call<Profile>(url, 'GET', '/v1/users/ada');
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it('answers 404 as problem+json for an unknown user', async () => {
    const answer = await call(url, 'GET', '/v1/users/nobody_here');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ status: 404, detail: 'no user "nobody_here"' });
  });

  it('refuses malformed handles and bodies with 400s that say what is wrong', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['GET', '/v1/users/AB', undefined],
      ['GET', '/v1/users/way_too_long_handle_x', undefined],
      ['PUT', '/v1/users/bob', { ...profile('bob'), handle: 'bobby' }],
      ['PUT', '/v1/users/bob', { handle: 'bob', createdAt: '2025-01-02T03:04:05Z' }],
      ['PUT', '/v1/users/bob', { ...profile('bob'), displayName: '   ' }],
      ['PUT', '/v1/users/bob', { ...profile('bob'), createdAt: 'yesterday' }],
      ['PUT', '/v1/users/bob', { ...profile('bob'), admin: true }],
      ['PUT', '/v1/users/Bob', profile('Bob')],
    ];
    for (const [method, path, body] of cases) {
      const answer = await call(url, method as 'GET' | 'PUT', path, body);
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(String(answer.body.detail)).toMatch(/^\/(params|body)/);
    }
    expect((await call(url, 'GET', '/v1/users/bob')).status).toBe(404);
  });

  it('answers a batch in request order, without duplicates, listing the missing', async () => {
    await createUser(url, 'batch_a');
    await createUser(url, 'batch_b');
    const answer = await call<{ users: Profile[]; missing: string[] }>(url, 'POST', '/v1/users/batch', {
      handles: ['batch_b', 'ghost', 'batch_a', 'batch_b'],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.users.map((u) => u.handle)).toEqual(['batch_b', 'batch_a']);
    expect(answer.body.users[0]).toMatchObject({ displayName: 'User batch_b', followers: 0, following: 0 });
    expect(answer.body.missing).toEqual(['ghost']);

    expect((await call(url, 'POST', '/v1/users/batch', { handles: [] })).status).toBe(400);
    const tooMany = Array.from({ length: 201 }, (_, i) => `user_${i}`);
    expect((await call(url, 'POST', '/v1/users/batch', { handles: tooMany })).status).toBe(400);
    expect((await call(url, 'POST', '/v1/users/batch', { handles: ['NOPE'] })).status).toBe(400);
  });
});

describe('users: follow graph', () => {
  it('follows and unfollows idempotently, keeping the counts right', async () => {
    await createUser(url, 'fan');
    await createUser(url, 'star');
    const follows = () => call(url, 'PUT', '/v1/users/fan/following/star');
    expect((await follows()).status).toBe(204);
    expect((await follows()).status).toBe(204);
    expect((await call<Profile>(url, 'GET', '/v1/users/star')).body).toMatchObject({
      followers: 1,
      following: 0,
    });
    expect((await call<Profile>(url, 'GET', '/v1/users/fan')).body).toMatchObject({
      followers: 0,
      following: 1,
    });
    expect((await call<HandlePage>(url, 'GET', '/v1/users/star/followers')).body).toEqual({
      handles: ['fan'],
      next: null,
    });
    expect((await call<HandlePage>(url, 'GET', '/v1/users/fan/following')).body).toEqual({
      handles: ['star'],
      next: null,
    });

    const unfollows = () => call(url, 'DELETE', '/v1/users/fan/following/star');
    expect((await unfollows()).status).toBe(204);
    expect((await unfollows()).status).toBe(204);
    expect((await call<Profile>(url, 'GET', '/v1/users/star')).body).toMatchObject({
      followers: 0,
      following: 0,
    });
    expect((await call<HandlePage>(url, 'GET', '/v1/users/star/followers')).body).toEqual({
      handles: [],
      next: null,
    });
  });

  it('refuses self-follows (400) and unknown users on either side (404)', async () => {
    await createUser(url, 'loner');
    const self = await call(url, 'PUT', '/v1/users/loner/following/loner');
    expect(self.status).toBe(400);
    expect(self.body.detail).toBe('a user cannot follow themselves');

    const unknownTarget = await call(url, 'PUT', '/v1/users/loner/following/ghost');
    expect(unknownTarget.status).toBe(404);
    expect(unknownTarget.body.detail).toBe('no user "ghost"');
    const unknownFollower = await call(url, 'PUT', '/v1/users/ghost/following/loner');
    expect(unknownFollower.status).toBe(404);
    expect((await call(url, 'DELETE', '/v1/users/loner/following/ghost')).status).toBe(404);
    expect((await call(url, 'GET', '/v1/users/ghost/followers')).status).toBe(404);
    expect((await call(url, 'GET', '/v1/users/ghost/following')).status).toBe(404);
    expect((await call(url, 'PUT', '/v1/users/loner/following/NOT-A-HANDLE')).status).toBe(400);
  });

  it('pages followers and following with a keyset cursor that survives changes between pages', async () => {
    await createUser(url, 'celeb');
    const fans = ['fan_e', 'fan_a', 'fan_d', 'fan_b', 'fan_g', 'fan_c', 'fan_f'];
    for (const fan of fans) {
      await createUser(url, fan);
      expect((await call(url, 'PUT', `/v1/users/${fan}/following/celeb`)).status).toBe(204);
      expect((await call(url, 'PUT', `/v1/users/celeb/following/${fan}`)).status).toBe(204);
    }
    const pages = async (list: 'followers' | 'following') => {
      const seen: string[][] = [];
      let after: string | null = null;
      do {
        const query: string = `limit=3${after ? `&after=${after}` : ''}`;
        const page: { status: number; body: HandlePage } = await call<HandlePage>(
          url,
          'GET',
          `/v1/users/celeb/${list}?${query}`,
        );
        expect(page.status).toBe(200);
        seen.push(page.body.handles);
        after = page.body.next;
        // A follower removed mid-way (one already listed) does not shift the next page.
        if (list === 'followers' && seen.length === 1)
          await call(url, 'DELETE', '/v1/users/fan_a/following/celeb');
      } while (after);
      return seen;
    };
    expect(await pages('followers')).toEqual([
      ['fan_a', 'fan_b', 'fan_c'],
      ['fan_d', 'fan_e', 'fan_f'],
      ['fan_g'],
    ]);
    expect(await pages('following')).toEqual([
      ['fan_a', 'fan_b', 'fan_c'],
      ['fan_d', 'fan_e', 'fan_f'],
      ['fan_g'],
    ]);
    // An exact multiple of the page size ends with next: null, not an empty extra page.
    const exact = await call<HandlePage>(url, 'GET', '/v1/users/celeb/followers?limit=6');
    expect(exact.body).toEqual({
      handles: ['fan_b', 'fan_c', 'fan_d', 'fan_e', 'fan_f', 'fan_g'],
      next: null,
    });

    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'after=UPPER', 'cursor=x']) {
      const answer = await call(url, 'GET', `/v1/users/celeb/followers?${query}`);
      expect(answer.status, query).toBe(400);
      expect(String(answer.body.detail)).toMatch(/^\/query/);
    }
  });
});

describe('users: schema versions', () => {
  it('refuses to start on a database written by a newer release, saying so', async () => {
    const env = testEnv('users');
    const path = join(String(env.DATA_DIR), USERS_DB_FILE);
    openDatabase(path, USERS_MIGRATIONS).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      USERS_MIGRATIONS.length + 1,
      'from the future',
      new Date().toISOString(),
    );
    db.close();
    await expect(startService(usersService, env)).rejects.toThrow(
      /schema is at version 2 but this code knows versions up to 1.*refusing to start/,
    );
  });
});

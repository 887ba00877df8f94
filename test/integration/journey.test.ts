import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually, openStream } from './http.ts';
import { login, refresh } from './oauth-client.ts';

interface Page {
  items: Array<{ id: string; text: string; author: { handle: string; displayName: string } }>;
  degraded: boolean;
}

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('the user journey through the gateway', () => {
  it('reports every service running and healthy with a reachable address', async () => {
    const status = await cluster.status();
    const names = status.services.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['registry', 'auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway']),
    );
    for (const service of status.services) {
      for (const instance of service.instances) {
        expect(instance, `${service.name}`).toMatchObject({ state: 'running', health: 'healthy' });
        expect(instance.address).toMatch(/^127\.0\.0\.1:\d+$/);
      }
    }
  });

  it('publishes OAuth discovery with the gateway as issuer', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const { status, body } = await api<Record<string, string | string[]>>(cluster.gateway, 'GET', path);
      expect(status, path).toBe(200);
      expect(body.issuer).toBe(cluster.gateway);
      expect(body.token_endpoint).toBe(`${cluster.gateway}/oauth/token`);
      expect(body.code_challenge_methods_supported).toContain('S256');
      expect(body.scopes_supported).toEqual(
        expect.arrayContaining(['tweets:read', 'tweets:write', 'follows:write', 'offline_access']),
      );
    }
  });

  it('signs up, logs in with code + PKCE, follows, posts, reads the home timeline with profiles, and streams', async () => {
    const g = cluster.gateway;
    for (const [handle, displayName] of [
      ['ada', 'Ada Lovelace'],
      ['grace', 'Grace Hopper'],
    ] as const) {
      const created = await api(g, 'POST', '/api/accounts', {
        body: { handle, password: `${handle}-password-1`, displayName },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ handle, displayName });
    }

    const ada = await login(g, 'ada', 'ada-password-1');
    const grace = await login(g, 'grace', 'grace-password-1');
    const header = decodeProtectedHeader(ada.accessToken);
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe('ES256');
    const claims = decodeJwt(ada.accessToken);
    expect(claims).toMatchObject({ iss: g, sub: 'ada', client_id: 'chaoscope-cli' });
    expect([claims.aud].flat()).toContain('chaoscope-api');
    expect(String(claims.scope).split(' ')).toEqual(
      expect.arrayContaining(['tweets:read', 'tweets:write', 'follows:write']),
    );
    expect(claims.jti).toBeTruthy();
    expect(ada.refreshToken).toBeTruthy();

    expect((await api(g, 'PUT', '/api/users/grace/follow', { token: ada.accessToken })).status).toBe(204);
    const profile = await api(g, 'GET', '/api/users/grace', { token: ada.accessToken });
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ handle: 'grace', displayName: 'Grace Hopper', followers: 1 });

    const stream = await openStream(`${g}/api/stream`, ada.accessToken);
    expect(stream.status).toBe(200);
    await eventually(
      async () => stream.events.length,
      (n) => n > 0,
      5_000,
    );

    const posted = await api<{ id: string; author: string; text: string }>(g, 'POST', '/api/tweets', {
      token: grace.accessToken,
      body: { text: 'Hello from Grace' },
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ author: 'grace', text: 'Hello from Grace' });

    const timeline = await eventually(
      () => api<Page>(g, 'GET', '/api/timeline?limit=10', { token: ada.accessToken }),
      (r) => r.body.items?.some((i) => i.id === posted.body.id),
    );
    expect(timeline.status).toBe(200);
    expect(timeline.body.degraded).toBe(false);
    expect(timeline.headers['x-chaoscope-degraded']).toBeUndefined();
    expect(timeline.body.items.find((i) => i.id === posted.body.id)).toMatchObject({
      text: 'Hello from Grace',
      author: { handle: 'grace', displayName: 'Grace Hopper' },
    });

    const live = await eventually(
      async () =>
        stream.events.filter((e) => e.event === 'tweet').map((e) => JSON.parse(e.data) as { id: string }),
      (tweets) => tweets.some((t) => t.id === posted.body.id),
      5_000,
    );
    expect(live.map((t) => t.id)).toContain(posted.body.id);
    stream.close();

    const graceTweets = await api<Page>(g, 'GET', '/api/users/grace/tweets', { token: ada.accessToken });
    expect(graceTweets.status).toBe(200);
    expect(graceTweets.body.items.map((i) => i.id)).toContain(posted.body.id);

    expect((await api(g, 'DELETE', '/api/users/grace/follow', { token: ada.accessToken })).status).toBe(204);
  });

  it('refreshes with rotation, and a reused refresh token revokes the whole grant', async () => {
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'linus', password: 'linus-password-1', displayName: 'Linus' },
    });
    const first = await login(g, 'linus', 'linus-password-1');
    const second = await refresh(g, first.refreshToken!);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBeTruthy();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await api(g, 'GET', '/api/timeline', { token: second.accessToken })).status).toBe(200);

    await expect(refresh(g, first.refreshToken!)).rejects.toThrow();
    // Reuse detection: the rotated token of the same grant is dead too.
    await expect(refresh(g, second.refreshToken!)).rejects.toThrow();
  });

  it('keeps an idempotent post to one tweet', async () => {
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'idem', password: 'idem-password-1', displayName: 'Idem' },
    });
    const { accessToken } = await login(g, 'idem', 'idem-password-1');
    const headers = { 'idempotency-key': 'post-once-123' };
    const a = await api<{ id: string }>(g, 'POST', '/api/tweets', {
      token: accessToken,
      body: { text: 'once' },
      headers,
    });
    const b = await api<{ id: string }>(g, 'POST', '/api/tweets', {
      token: accessToken,
      body: { text: 'once' },
      headers,
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../kit/testing.ts';
import { LoadGenerator, type LoadGeneratorOptions, type LoadGeneratorStats } from './generator.ts';
import { LoginError, loginWithPkce, PkceClient } from './oauth.ts';
import { STAND_IN_ACCESS_TOKEN_TTL, startStandInGateway, type StandInGateway } from './stand-in-gateway.ts';
import { SimulatedUser, userContext } from './user.ts';

// The real gateway needs the whole cluster; these tests drive a stand-in that has the same public
// API and a real OAuth server (oidc-provider). The lead's integration tests use the real cluster.
let gateway: StandInGateway;
const generators: LoadGenerator[] = [];

beforeAll(async () => {
  gateway = await startStandInGateway();
});
afterEach(async () => {
  await Promise.all(generators.splice(0).map((g) => g.close()));
  Object.assign(gateway.behaviour, { failFirstPostAttempt: false, degradedTimeline: false, delayMs: 0 });
});
afterAll(async () => {
  await gateway.close();
});

let prefixes = 0;
function generator(options: Partial<LoadGeneratorOptions> = {}): LoadGenerator {
  // Each test its own users, so counts do not mix.
  const g = new LoadGenerator({
    baseUrl: gateway.url,
    handlePrefix: `t${prefixes++}_`,
    timeoutMs: 2_000,
    ...options,
  });
  generators.push(g);
  return g;
}

const until = (
  g: LoadGenerator,
  check: (s: LoadGeneratorStats) => boolean,
  what: string,
  timeoutMs = 10_000,
) => waitFor(() => (check(g.stats()) ? g.stats() : undefined), { what, timeoutMs, intervalMs: 50 });

describe('loginWithPkce', () => {
  it('logs in with authorization code + PKCE and gets tokens that refresh with rotation', async () => {
    gateway.accounts.set('pkce_user', 'pkce-password');
    const tokens = await loginWithPkce(gateway.url, 'pkce_user', 'pkce-password');
    expect(tokens.accessToken).toBeTruthy();
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.expiresIn).toBe(STAND_IN_ACCESS_TOKEN_TTL);

    const client = new PkceClient({ baseUrl: gateway.url });
    try {
      const refreshed = await client.refresh(tokens.refreshToken);
      expect(refreshed.accessToken).not.toBe(tokens.accessToken);
      expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
      // The rotated-away refresh token is spent.
      await expect(client.refresh(tokens.refreshToken)).rejects.toMatchObject({
        name: 'LoginError',
        kind: 'invalid_grant',
        status: 400,
      });
    } finally {
      await client.close();
    }
  });

  it('says the credentials were refused when the login page comes back', async () => {
    gateway.accounts.set('pkce_user2', 'right-password');
    const error: unknown = await loginWithPkce(gateway.url, 'pkce_user2', 'wrong-password').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoginError);
    expect(error).toMatchObject({ kind: 'credentials', status: 200 });
    expect((error as Error).message).toMatch(/Wrong handle or password/);
  });

  it('says the server is unavailable when nothing listens', async () => {
    const error: unknown = await loginWithPkce('http://127.0.0.1:1', 'someone', 'password-1', {
      timeoutMs: 1_000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'LoginError', kind: 'unavailable', status: null });
  });
});

describe('SimulatedUser', () => {
  it('signs up once, then refreshes ahead of expiry, always with the newest refresh token', async () => {
    let skew = 0;
    const ctx = { ...userContext(gateway.url), now: () => Date.now() + skew };
    try {
      const alice = new SimulatedUser({ handle: 'solo_user', password: 'solo-password' }, ctx);
      expect(await alice.signUp()).toBe(true);
      expect(await alice.signUp()).toBe(true); // 409: the account is there already
      const first = await alice.accessToken();
      expect(await alice.accessToken()).toBe(first);

      // Within the last quarter of the token's life: refreshed, once, however many ask at the same time.
      skew += (STAND_IN_ACCESS_TOKEN_TTL * 1000 * 3) / 4 + 100;
      const second = await Promise.all([alice.accessToken(), alice.accessToken(), alice.accessToken()]);
      expect(new Set(second).size).toBe(1);
      expect(second[0]).not.toBe(first);
      // The server rotates refresh tokens: a second refresh only works with the newest one.
      skew += (STAND_IN_ACCESS_TOKEN_TTL * 1000 * 3) / 4 + 100;
      const third = await alice.accessToken();
      expect(third).not.toBe(second[0]);

      expect(await alice.postTweet('hello from a test')).toMatchObject({ status: 201, degraded: false });
      const stats = ctx.stats.snapshot();
      expect(stats.operations.signup).toMatchObject({ ok: 2, byStatus: { '201': 1, '409': 1 } });
      expect(stats.operations.login.ok).toBe(1);
      expect(stats.operations.refresh).toMatchObject({
        ok: 2,
        errors: { '4xx': 0, '5xx': 0, other: 0, timeout: 0, network: 0 },
      });
      expect(stats.operations.post.ok).toBe(1);
    } finally {
      await ctx.close();
    }
  });
});

describe('LoadGenerator against a stand-in gateway', () => {
  it('signs users up, logs them in, seeds follows, and runs the whole mix through the public API', async () => {
    // No follow/unfollow ticks here, so the seeded graph stays as it was made.
    const g = generator({
      settings: {
        ratePerSecond: 40,
        users: 4,
        streamers: 2,
        mix: { post: 2, timeline: 5, profile: 2, follow: 0 },
      },
    });
    g.start();
    const stats = await until(
      g,
      (s) =>
        s.operations.post.ok >= 5 &&
        s.operations.timeline.ok > 0 &&
        s.operations.profile.ok > 0 &&
        s.stream.tweetsReceived > 0 &&
        s.operations.refresh.ok > 0 &&
        s.users.signedUp === 4,
      'every kind of operation to succeed, tokens to be refreshed and tweets to be streamed',
    );
    expect(stats.operations.signup.ok).toBe(4);
    expect(stats.operations.login.ok).toBeGreaterThanOrEqual(4);
    expect(stats.operations.stream.ok).toBeGreaterThanOrEqual(2);
    expect(stats.streams.connected).toBe(2);
    for (const [name, op] of Object.entries(stats.operations)) {
      expect(op.errors, name).toEqual({ '4xx': 0, '5xx': 0, other: 0, timeout: 0, network: 0 });
    }
    expect(stats.operations.timeline.latencyMs.count).toBe(stats.operations.timeline.ok);
    expect(stats.operations.timeline.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.recentErrors).toEqual([]);

    // Each user follows the next ones.
    const prefix = g.user(0).handle.slice(0, -1);
    for (let i = 0; i < 4; i++) {
      for (let k = 1; k <= 3; k++)
        expect(gateway.follows, `${i} follows ${(i + k) % 4}`).toContain(
          `${prefix}${i}->${prefix}${(i + k) % 4}`,
        );
    }
    // Only the public API and the OAuth endpoints the discovery document names.
    expect(gateway.paths.every((p) => /^(GET|POST|PUT|DELETE) \/(api|oauth|\.well-known)\//.test(p))).toBe(
      true,
    );
  });

  it('follows and unfollows other users, keeping a few follows each', async () => {
    const g = generator({
      settings: {
        ratePerSecond: 40,
        users: 5,
        streamers: 0,
        mix: { post: 0, timeline: 0, profile: 0, follow: 1 },
      },
    });
    const deletesBefore = gateway.paths.filter((p) => p.startsWith('DELETE')).length;
    g.start();
    const stats = await until(g, (s) => s.operations.follow.ok >= 40, 'follow changes');
    await g.stop();
    expect(stats.operations.follow.errors).toEqual({ '4xx': 0, '5xx': 0, other: 0, timeout: 0, network: 0 });
    expect(gateway.paths.filter((p) => p.startsWith('DELETE')).length).toBeGreaterThan(deletesBefore);
    const prefix = g.user(0).handle.slice(0, -1);
    for (let i = 0; i < 5; i++) {
      const mine = [...gateway.follows].filter((f) => f.startsWith(`${prefix}${i}->`));
      expect(mine.length, `${prefix}${i} follows`).toBeGreaterThanOrEqual(2);
      expect(mine).not.toContain(`${prefix}${i}->${prefix}${i}`);
      expect([...g.user(i).following].sort()).toEqual(mine.map((f) => f.split('->')[1]).sort());
    }
  });

  it('retries a post that got 503 with the same Idempotency-Key, so it is stored once', async () => {
    gateway.behaviour.failFirstPostAttempt = true;
    const g = generator({
      settings: {
        ratePerSecond: 20,
        users: 2,
        streamers: 0,
        mix: { post: 1, timeline: 0, profile: 0, follow: 0 },
      },
    });
    const before = gateway.tweets.length;
    const attemptsBefore = gateway.postAttempts.length;
    g.start();
    const stats = await until(g, (s) => s.operations.post.ok >= 5, 'posts to succeed after a retry');
    await g.stop();
    const attempts = gateway.postAttempts.slice(attemptsBefore);
    const keys = new Set(attempts);
    // Every key was tried twice (503, then 201) and made exactly one tweet.
    for (const key of keys) expect(attempts.filter((k) => k === key)).toHaveLength(2);
    expect(gateway.tweets.length - before).toBe(keys.size);
    expect(stats.operations.post.retries).toBeGreaterThanOrEqual(stats.operations.post.ok);
    expect(stats.operations.post.errors['5xx']).toBe(0);
  });

  it('logs in again when the gateway refuses the access token', async () => {
    const g = generator({ settings: { ratePerSecond: 20, users: 2, streamers: 0 } });
    g.start();
    await until(
      g,
      (s) => s.operations.timeline.ok + s.operations.post.ok > 3 && s.operations.login.ok === 2,
      'both users to be active',
    );
    gateway.rejectCurrentTokens();
    const stats = await until(
      g,
      (s) => s.operations.login.ok >= 3 && s.recentErrors.some((e) => e.status === 401),
      'a 401 and a new login',
    );
    expect(stats.recentErrors.find((e) => e.status === 401)?.detail).toBe('the access token is not valid');
    const okBefore = stats.operations.timeline.ok + stats.operations.post.ok + stats.operations.profile.ok;
    await until(
      g,
      (s) => s.operations.timeline.ok + s.operations.post.ok + s.operations.profile.ok > okBefore + 3,
      'requests to succeed again',
    );
  });

  it('counts degraded answers', async () => {
    gateway.behaviour.degradedTimeline = true;
    const g = generator({
      settings: {
        ratePerSecond: 20,
        users: 1,
        streamers: 0,
        mix: { post: 0, timeline: 1, profile: 0, follow: 0 },
      },
    });
    g.start();
    const stats = await until(g, (s) => s.operations.timeline.degraded >= 3, 'degraded timelines');
    expect(stats.operations.timeline.degraded).toBe(stats.operations.timeline.ok);
  });

  it('caps requests in flight when the gateway is slow, skipping ticks instead of queueing them', async () => {
    gateway.behaviour.delayMs = 1_500;
    const g = generator({ settings: { ratePerSecond: 50, users: 2, streamers: 0, maxInFlight: 3 } });
    g.start();
    let peak = 0;
    const stats = await until(
      g,
      (s) => {
        peak = Math.max(peak, s.inFlight);
        return s.ticks.skippedInFlightCap >= 20;
      },
      'ticks to be skipped at the cap',
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(stats.ticks.started).toBeLessThan(stats.ticks.skippedInFlightCap);
  });

  it('rides out a gateway restart: errors while it is down, load again once it is back', async () => {
    const g = generator({ settings: { ratePerSecond: 20, users: 2, streamers: 1 } });
    g.start();
    await until(
      g,
      (s) => s.operations.post.ok + s.operations.timeline.ok > 3 && s.streams.connected === 1,
      'load to flow',
    );
    await gateway.stop();
    try {
      await until(
        g,
        (s) =>
          s.operations.timeline.errors.network +
            s.operations.post.errors.network +
            s.operations.profile.errors.network +
            s.operations.follow.errors.network >
            0 && s.streams.connected === 0,
        'failures while the gateway is down',
      );
    } finally {
      await gateway.start();
    }
    const okAfter = g.stats().operations.timeline.ok;
    await until(
      g,
      (s) => s.operations.timeline.ok > okAfter + 2 && s.streams.connected === 1,
      'requests and the stream to recover',
    );
  });

  it('pauses and resumes, and changes rate and users while running', async () => {
    const g = generator({ settings: { ratePerSecond: 20, users: 2, streamers: 1 } });
    g.start();
    await until(g, (s) => s.streams.connected === 1 && s.ticks.started > 5, 'load to flow');
    await g.stop();
    const paused = g.stats();
    expect(paused.running).toBe(false);
    expect(paused.inFlight).toBe(0);
    expect(paused.streams.connected).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(g.stats().ticks.started).toBe(paused.ticks.started);

    g.update({ running: true, users: 5, streamers: 2 });
    await until(
      g,
      (s) => s.users.signedUp === 5 && s.streams.connected === 2,
      'the new users to sign up and two streams',
    );
    expect(gateway.openStreams()).toBe(2);
    g.update({ streamers: 0 });
    await waitFor(() => gateway.openStreams() === 0, { what: 'the streams to close' });
    expect(g.stats().streams).toEqual({ configured: 0, connected: 0 });
  });

  it('closes promptly even while requests hang', async () => {
    const g = generator({ settings: { ratePerSecond: 20, users: 1, streamers: 1 }, timeoutMs: 30_000 });
    g.start();
    await until(g, (s) => s.streams.connected === 1, 'the stream to connect');
    gateway.behaviour.delayMs = 20_000;
    await until(g, (s) => s.inFlight > 0, 'a request to hang');
    const started = Date.now();
    await g.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(g.stats().inFlight).toBe(0);
    expect(g.stats().streams.connected).toBe(0);
  });
});

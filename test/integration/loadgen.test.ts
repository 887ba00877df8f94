/**
 * The load generator against the real tweet cluster: the loadgen service running inside it,
 * driven through its admin API, and (where a test needs finer control) its classes pointed at
 * the real gateway. Failures are the real ones: faults injected through each service's admin
 * API, services killed and started through the runtime.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '../../sample-cluster/cluster.ts';
import { freePort } from '../../sample-cluster/kit/testing.ts';
import { LoadGenerator, type LoadGeneratorStats } from '../../sample-cluster/services/loadgen/generator.ts';
import { LoginError, loginWithPkce, PkceClient } from '../../sample-cluster/services/loadgen/oauth.ts';
import { DEFAULT_MIX, type LoadSettings } from '../../sample-cluster/services/loadgen/settings.ts';
import { SimulatedUser, userContext } from '../../sample-cluster/services/loadgen/user.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually, type Answer } from './http.ts';

/** Short-lived access tokens, so refreshes (and expiries during outages) happen within a test. */
const ACCESS_TOKEN_TTL_SECONDS = 12;
const USERS = 4;
/** Where every test starts from: paused, the first USERS simulated users, defaults otherwise. */
const BASELINE: LoadSettings = {
  running: false,
  ratePerSecond: 10,
  users: USERS,
  streamers: 2,
  mix: DEFAULT_MIX,
  maxInFlight: 50,
};
const PREFIX = 'lg_';
const handles = Array.from({ length: USERS }, (_, i) => `${PREFIX}${i}`);

interface LoadView {
  settings: LoadSettings;
  stats: LoadGeneratorStats;
}
interface TweetPage {
  items: Array<{ id: string; text: string }>;
}

let cluster: TestCluster;
let loadgenUrl: string;
const contexts: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await startCluster({
    withLoadgen: true,
    serviceEnv: {
      auth: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) },
      // Idle until a test sets the load it needs.
      loadgen: {
        LOADGEN_AUTOSTART: 'false',
        LOADGEN_HANDLE_PREFIX: PREFIX,
        LOADGEN_USERS: String(USERS),
        LOADGEN_STREAMERS: '2',
      },
    },
  });
  loadgenUrl = `http://${(await cluster.instance('loadgen')).address}`;
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  if (!cluster) return;
  await Promise.all(
    (['gateway', 'tweets'] as const).map((s) =>
      cluster.admin(s, 'DELETE', '/admin/faults').catch(() => undefined),
    ),
  );
  // Paused and drained before counting afresh, so nothing from one test is counted in the next.
  await api(loadgenUrl, 'PUT', '/admin/load', { token: cluster.adminToken, body: BASELINE });
  const idle = await eventually(loadStats, (s) => s.inFlight === 0 && s.streams.connected === 0, 30_000, 200);
  expect(idle.inFlight, 'the load drained after the test').toBe(0);
  await api(loadgenUrl, 'DELETE', '/admin/load/stats', { token: cluster.adminToken });
});
afterAll(async () => {
  await cluster?.stop();
});

const loadAdmin = <T = LoadView>(
  method: 'GET' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Answer<T>> =>
  api<T>(loadgenUrl, method, path, { token: cluster.adminToken, ...(body !== undefined ? { body } : {}) });

async function loadStats(): Promise<LoadGeneratorStats> {
  const res = await loadAdmin('GET', '/admin/load');
  expect(res.status).toBe(200);
  return res.body.stats;
}

async function setLoad(
  patch: Partial<Omit<LoadSettings, 'mix'>> & { mix?: Partial<LoadSettings['mix']> },
): Promise<LoadSettings> {
  const res = await loadAdmin('PUT', '/admin/load', patch);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.settings;
}

/** Poll the in-cluster loadgen's stats until `accept` holds; fails with the last stats seen. */
async function statsWhen(
  accept: (s: LoadGeneratorStats) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<LoadGeneratorStats> {
  const stats = await eventually(loadStats, accept, timeoutMs, 200);
  if (!accept(stats)) throw new Error(`gave up waiting for ${what}; last stats: ${summarize(stats)}`);
  return stats;
}

/** The parts of the stats worth reading when a wait gives up. */
function summarize(s: LoadGeneratorStats): string {
  const ops = Object.fromEntries(
    Object.entries(s.operations).map(([k, o]) => [
      k,
      { ok: o.ok, errors: o.errors, degraded: o.degraded, retries: o.retries, byStatus: o.byStatus },
    ]),
  );
  return JSON.stringify(
    {
      running: s.running,
      inFlight: s.inFlight,
      ticks: s.ticks,
      users: s.users,
      streams: s.streams,
      stream: s.stream,
      ops,
      recentErrors: s.recentErrors.slice(0, 5),
    },
    null,
    1,
  );
}

const sum = (
  s: LoadGeneratorStats,
  ops: ReadonlyArray<keyof LoadGeneratorStats['operations']>,
  pick: (o: LoadGeneratorStats['operations']['post']) => number,
) => ops.reduce((n, op) => n + pick(s.operations[op]), 0);
const API_OPS = ['post', 'timeline', 'profile', 'follow'] as const;
const okOf = (s: LoadGeneratorStats) => sum(s, API_OPS, (o) => o.ok);
const noErrors = { '4xx': 0, '5xx': 0, other: 0, timeout: 0, network: 0 };

async function fault(service: ServiceName, spec: Record<string, unknown>): Promise<string> {
  const res = await cluster.admin<{ id: string }>(service, 'POST', '/admin/faults', spec);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** A person using the public API on their own (signs up, logs in, keeps the token fresh). */
function person(handle: string, password = `${handle}-password`) {
  const ctx = userContext(cluster.gateway);
  contexts.push(ctx);
  return { user: new SimulatedUser({ handle, password }, ctx), stats: () => ctx.stats.snapshot() };
}

/**
 * Every tweet of a handle, read through the public API. Waits out a gateway→tweets breaker that
 * slow posts opened (it guards reads on that edge too), and answers served from a fallback.
 */
async function tweetsOf(reader: SimulatedUser, handle: string): Promise<TweetPage['items']> {
  const res = await eventually(
    () => reader.readTweetsOf(handle, 200),
    (r) => r?.status === 200 && !r.degraded,
    20_000,
    250,
  );
  expect(res?.status, `tweets of ${handle}`).toBe(200);
  expect(res?.degraded, `tweets of ${handle} served whole`).toBe(false);
  const items = (res!.body as TweetPage).items;
  // A full page could hide more: the counts below would be wrong.
  expect(items.length).toBeLessThan(200);
  return items;
}

describe('loginWithPkce against the real gateway', () => {
  it('logs in with code + PKCE and gets tokens that refresh with rotation', async () => {
    const g = cluster.gateway;
    expect(
      (
        await api(g, 'POST', '/api/accounts', {
          body: { handle: 'pkce_user', password: 'pkce-password', displayName: 'Pkce' },
        })
      ).status,
    ).toBe(201);
    const tokens = await loginWithPkce(g, 'pkce_user', 'pkce-password');
    expect(tokens.expiresIn).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect((await api(g, 'GET', '/api/timeline', { token: tokens.accessToken })).status).toBe(200);

    const client = new PkceClient({ baseUrl: g });
    try {
      const refreshed = await client.refresh(tokens.refreshToken);
      expect(refreshed.accessToken).not.toBe(tokens.accessToken);
      expect(refreshed.refreshToken).toBeTruthy();
      expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
      expect((await api(g, 'GET', '/api/timeline', { token: refreshed.accessToken })).status).toBe(200);
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

  it('says the credentials were refused when the password is wrong', async () => {
    await api(cluster.gateway, 'POST', '/api/accounts', {
      body: { handle: 'pkce_wrong', password: 'right-password', displayName: 'Wrong' },
    });
    const error: unknown = await loginWithPkce(cluster.gateway, 'pkce_wrong', 'wrong-password').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoginError);
    expect(error).toMatchObject({ kind: 'credentials', status: 401 });
    expect((error as Error).message).toMatch(/Wrong handle or password/);
  });

  it('says the server is unavailable when nothing listens, or when the gateway cannot reach auth', async () => {
    const nobody = await loginWithPkce(`http://127.0.0.1:${await freePort()}`, 'someone', 'password-1', {
      timeoutMs: 2_000,
    }).catch((e: unknown) => e);
    expect(nobody).toMatchObject({ name: 'LoginError', kind: 'unavailable', status: null });

    await cluster.runtime.kill('auth');
    try {
      const noAuth = await loginWithPkce(cluster.gateway, 'pkce_user', 'pkce-password').catch(
        (e: unknown) => e,
      );
      expect(noAuth).toBeInstanceOf(LoginError);
      expect(noAuth).toMatchObject({ kind: 'unavailable' });
      expect((noAuth as LoginError).status).toBeGreaterThanOrEqual(500);
    } finally {
      await cluster.runtime.start('auth');
    }
  });
});

describe('the loadgen service in the cluster', () => {
  it('signs users up, logs them in, refreshes their tokens and runs the whole mix, with streamed tweets', async () => {
    await setLoad({ ...BASELINE, running: true });
    // Two refreshes per user, each with the newest refresh token: reusing a rotated-away one would
    // revoke the grant (refresh errors, and logins beyond one per user).
    const stats = await statsWhen(
      (s) =>
        s.users.signedUp === USERS &&
        API_OPS.every((op) => s.operations[op].ok > 0) &&
        s.stream.tweetsReceived > 0 &&
        s.streams.connected === 2 &&
        s.operations.refresh.ok >= 2 * USERS,
      'every kind of operation to succeed, two refreshes per user and streamed tweets',
      60_000,
    );
    expect(stats.operations.signup).toMatchObject({ ok: USERS, byStatus: { '201': USERS } });
    expect(stats.operations.login.ok).toBe(USERS);
    expect(stats.operations.stream.ok).toBeGreaterThanOrEqual(2);
    for (const [name, op] of Object.entries(stats.operations)) expect(op.errors, name).toEqual(noErrors);
    expect(stats.recentErrors).toEqual([]);
    expect(stats.operations.timeline.latencyMs.count).toBe(stats.operations.timeline.ok);
    expect(stats.operations.timeline.latencyMs.p50).toBeGreaterThan(0);

    // What the users did is in the cluster: each follows a few others (never itself), and posted.
    const observer = person('observer').user;
    for (const handle of handles) {
      const profile = await eventually(
        () => observer.readProfile(handle),
        (r) => ((r?.body as { following?: number })?.following ?? 0) >= 2,
      );
      expect(profile?.status).toBe(200);
      expect((profile?.body as { following: number }).following).toBeGreaterThanOrEqual(2);
      expect((profile?.body as { following: number }).following).toBeLessThanOrEqual(USERS - 1);
    }
    const posted = (await Promise.all(handles.map((h) => tweetsOf(observer, h)))).flat();
    expect(posted.length).toBeGreaterThanOrEqual(stats.operations.post.ok);
  });

  it('retries a post that timed out with the same Idempotency-Key, so each post is stored once', async () => {
    const observer = person('observer').user;
    const postsOnly = {
      ...BASELINE,
      ratePerSecond: 4,
      streamers: 0,
      mix: { post: 1, timeline: 0, profile: 0, follow: 0 },
    };
    // Every user signed up first, so each has tweets to count before the fault.
    await setLoad({ ...postsOnly, running: true });
    await statsWhen((s) => s.users.signedUp === USERS, 'every user to sign up');
    await setLoad({ running: false });
    await statsWhen((s) => s.inFlight === 0, 'the posts to end');
    await loadAdmin('DELETE', '/admin/load/stats');
    const before = (await Promise.all(handles.map((h) => tweetsOf(observer, h)))).flat().length;

    // Some posts reach tweets only after the gateway has given up on them (its breaker times out at
    // 2 s): the tweet is stored, the user gets 504 and retries. With the same key the retry is
    // answered 200 with that tweet; with a new key it would be a second copy.
    const delayMs = 2_100;
    const id = await fault('tweets', {
      kind: 'latency',
      latencyMs: delayMs,
      route: '/v1/tweets',
      method: 'POST',
      caller: 'gateway',
      probability: 0.4,
    });
    await setLoad({ running: true });
    const stats = await statsWhen(
      (s) => s.operations.post.retries >= 3 && (s.operations.post.byStatus['200'] ?? 0) >= 2,
      'posts retried after a timeout and answered with the stored tweet',
      90_000,
    );
    await setLoad({ running: false });
    const done = await statsWhen((s) => s.inFlight === 0, 'the posts to end');
    const faults = await cluster.admin<{ faults: Array<{ id: string; applied: number }> }>(
      'tweets',
      'GET',
      '/admin/faults',
    );
    expect(faults.body.faults.find((f) => f.id === id)?.applied).toBeGreaterThan(0);
    await cluster.admin('tweets', 'DELETE', '/admin/faults');
    // An attempt the gateway gave up on is still being delayed at tweets; let it land before counting.
    await sleep(delayMs + 1_000);

    expect(stats.operations.post.byStatus['201']).toBeGreaterThan(0);
    const post = done.operations.post;
    const attempted =
      post.ok + sum(done, ['post'], (o) => Object.values(o.errors).reduce((a, b) => a + b, 0));
    const all = (await Promise.all(handles.map((h) => tweetsOf(observer, h)))).flat();
    const texts = all.map((t) => t.text);
    // Every text is unique (the generator numbers its posts), so a duplicate is a post stored twice.
    expect(texts.length - new Set(texts).size, 'tweets stored twice').toBe(0);
    const stored = all.length - before;
    expect(stored, 'every acknowledged post is stored').toBeGreaterThanOrEqual(post.ok);
    expect(stored, 'no post is stored more than once').toBeLessThanOrEqual(attempted);
  });

  it('counts degraded answers as degraded, not as errors, while timeline is down', async () => {
    await setLoad({
      ...BASELINE,
      running: true,
      streamers: 0,
      mix: { post: 0, timeline: 1, profile: 0, follow: 0 },
    });
    await statsWhen((s) => s.operations.timeline.ok >= 3, 'timeline reads');
    await cluster.runtime.kill('timeline');
    let down: LoadGeneratorStats;
    try {
      down = await statsWhen((s) => s.operations.timeline.degraded >= 5, 'degraded timeline reads');
    } finally {
      await cluster.runtime.start('timeline');
    }
    expect(down.operations.timeline.errors).toEqual(noErrors);
    expect(down.operations.timeline.byStatus['200']).toBe(down.operations.timeline.ok);

    // Whole again once timeline is back: reads keep coming and no more of them are degraded.
    let since = down;
    const healed = await statsWhen((s) => {
      if (s.operations.timeline.degraded !== since.operations.timeline.degraded) since = s;
      return s.operations.timeline.ok >= since.operations.timeline.ok + 5;
    }, 'five whole timeline reads in a row');
    expect(healed.operations.timeline.errors).toEqual(noErrors);
  });

  it('caps requests in flight when the gateway is slow, skipping ticks instead of queueing them', async () => {
    await fault('gateway', { kind: 'latency', latencyMs: 3_000, route: '/api' });
    await setLoad({ ...BASELINE, running: true, ratePerSecond: 20, streamers: 0, maxInFlight: 3 });
    let peak = 0;
    const stats = await statsWhen((s) => {
      peak = Math.max(peak, s.inFlight);
      return s.ticks.skippedInFlightCap >= 20 && s.inFlight > 0;
    }, 'ticks skipped at the cap');
    expect(peak).toBeLessThanOrEqual(3);
    expect(stats.ticks.started).toBeLessThan(stats.ticks.skippedInFlightCap);
    // Skipped, not queued: nothing failed for want of time.
    expect(sum(stats, API_OPS, (o) => o.errors.timeout)).toBe(0);
  });

  it('rides out a gateway restart: errors while it is down, load and the stream again once it is back', async () => {
    await setLoad({ ...BASELINE, running: true, streamers: 1 });
    await statsWhen((s) => okOf(s) > 5 && s.streams.connected === 1, 'load to flow');
    await cluster.runtime.kill('gateway');
    try {
      await statsWhen(
        (s) => Object.values(s.operations).some((o) => o.errors.network > 0) && s.streams.connected === 0,
        'failures while the gateway is down',
      );
    } finally {
      await cluster.runtime.start('gateway');
    }
    const okBefore = okOf(await loadStats());
    await statsWhen(
      (s) => okOf(s) > okBefore + 5 && s.streams.connected === 1,
      'requests and the stream to recover',
      60_000,
    );
  });

  it('pauses, resumes, and changes rate, users and streams while running', async () => {
    await setLoad({ ...BASELINE, running: true, users: 2, streamers: 1 });
    await statsWhen((s) => s.streams.connected === 1 && s.ticks.started > 5, 'load to flow');

    expect((await setLoad({ running: false })).running).toBe(false);
    const paused = await statsWhen((s) => s.inFlight === 0 && s.streams.connected === 0, 'the load to pause');
    expect(paused.running).toBe(false);
    await sleep(500);
    expect((await loadStats()).ticks.started).toBe(paused.ticks.started);

    const resumed = await setLoad({ running: true, users: 5, streamers: 2 });
    expect(resumed).toMatchObject({
      running: true,
      users: 5,
      streamers: 2,
      ratePerSecond: BASELINE.ratePerSecond,
    });
    // lg_4 is new: it signs up now.
    const grown = await statsWhen(
      (s) => s.users.signedUp === 5 && s.streams.connected === 2,
      'five users and two streams',
    );
    expect(grown.users.configured).toBe(5);

    // Rate 0 while running: no ticks, streams stay.
    await setLoad({ ratePerSecond: 0 });
    const stillTicks = await statsWhen((s) => s.inFlight === 0, 'running ticks to end');
    await sleep(500);
    const idle = await loadStats();
    expect(idle.ticks.started).toBe(stillTicks.ticks.started);
    expect(idle.streams.connected).toBe(2);
    await setLoad({ ratePerSecond: 20 });
    await statsWhen((s) => s.ticks.started >= idle.ticks.started + 10, 'ticks at the new rate');

    await setLoad({ streamers: 0 });
    const closed = await statsWhen((s) => s.streams.connected === 0, 'the streams to close');
    expect(closed.streams).toEqual({ configured: 0, connected: 0 });
  });

  it('refuses invalid settings with a problem naming each one, and keeps the old settings', async () => {
    const before = (await loadAdmin('GET', '/admin/load')).body.settings;
    const cases: Array<[unknown, RegExp]> = [
      [{ users: 0 }, /\/body\/users/],
      [{ ratePerSecond: 'fast' }, /\/body\/ratePerSecond/],
      [{ streamers: 9, users: 5 }, /\/body\/streamers/],
      [{ mix: { post: 0, timeline: 0, profile: 0, follow: 0 } }, /at least one weight/],
      [{ mix: { post: -1 } }, /\/body\/mix\/post/],
      [{ maxInFlight: 0 }, /\/body\/maxInFlight/],
      [{ speed: 'ludicrous' }, /speed/],
    ];
    for (const [body, detail] of cases) {
      const res = await loadAdmin<{
        status: number;
        detail: string;
        errors: Array<{ pointer: string; detail: string }>;
      }>('PUT', '/admin/load', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.status).toBe(400);
      expect(JSON.stringify(res.body.errors), JSON.stringify(body)).toMatch(detail);
    }
    expect((await loadAdmin('GET', '/admin/load')).body.settings).toEqual(before);
  });
});

describe('the load generator classes against the real gateway', () => {
  it('closes at once while requests hang, leaving nothing in flight', async () => {
    const g = new LoadGenerator({
      baseUrl: cluster.gateway,
      handlePrefix: 'hang_',
      timeoutMs: 60_000,
      settings: { ratePerSecond: 10, users: 1, streamers: 1 },
    });
    try {
      g.start();
      await eventually(
        async () => g.stats(),
        (s) => s.streams.connected === 1 && s.operations.timeline.ok + s.operations.post.ok > 0,
      );
      expect(g.stats().streams.connected).toBe(1);
      await fault('gateway', { kind: 'hang', maxMs: 120_000, route: '/api' });
      const hanging = await eventually(
        async () => g.stats(),
        (s) => s.inFlight > 0,
      );
      expect(hanging.inFlight).toBeGreaterThan(0);
      // The hang outlasts this deadline many times over; close() must not wait for it.
      const outcome = await Promise.race([
        g.close().then(() => 'closed'),
        sleep(20_000).then(() => 'still waiting'),
      ]);
      expect(outcome).toBe('closed');
      expect(g.stats().inFlight).toBe(0);
      expect(g.stats().streams.connected).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('logs in again (signing up again) when the gateway refuses the token after auth lost its data', async () => {
    const g = cluster.gateway;
    await setLoad({ ...BASELINE, running: true, ratePerSecond: 5, streamers: 0 });
    await statsWhen((s) => okOf(s) > 3, 'load to flow');
    await loadAdmin('DELETE', '/admin/load/stats');
    // Logged in just before the loss, so its token is far from its refresh time when it is refused:
    // what follows the 401 is the reaction to it, not a scheduled refresh.
    const alice = person('alice_relogin');
    expect((await alice.user.readTimeline())?.status).toBe(200);
    expect(alice.stats().operations.login.ok).toBe(1);

    // Auth's disk is lost: a new signing key, no accounts. Tokens signed with the old key die at
    // the gateway as soon as it loads the new key set (when the first new token arrives).
    await cluster.runtime.kill('auth');
    rmSync(cluster.runtime.paths.serviceDataDir('auth'), { recursive: true, force: true });
    await cluster.runtime.start('auth');
    const bob = person('bob_newcomer');
    const bobRead = await eventually(
      () => bob.user.readTimeline(),
      (r) => r?.status === 200,
      30_000,
      500,
    );
    expect(bobRead?.status).toBe(200);

    const refused = await alice.user.readTimeline();
    expect(refused?.status).toBe(401);
    expect(alice.stats().recentErrors[0]).toMatchObject({
      status: 401,
      detail: 'the access token is signed with an unknown key',
    });
    // Dropped its session: logs in, is refused (no account any more), signs up again, logs in.
    const back = await eventually(
      () => alice.user.readTimeline(),
      (r) => r?.status === 200,
      30_000,
      250,
    );
    expect(back?.status).toBe(200);
    const s = alice.stats();
    expect(s.operations.login.ok).toBe(2);
    expect(s.operations.login.errors['4xx']).toBeGreaterThanOrEqual(1);
    expect(s.operations.refresh).toMatchObject({ ok: 0, errors: noErrors });
    expect(s.operations.signup.byStatus['201']).toBe(2);
    expect(
      s.recentErrors.some(
        (e) => e.operation === 'login' && e.status === 401 && /Wrong handle or password/.test(e.detail),
      ),
    ).toBe(true);
    expect(
      (await api(g, 'GET', '/api/users/alice_relogin', { token: (await alice.user.accessToken())! })).status,
    ).toBe(200);

    // The loadgen's own users go the same way and the load flows again.
    const recovered = await statsWhen(
      (x) =>
        (x.operations.signup.byStatus['201'] ?? 0) >= USERS && x.operations.login.ok >= USERS && okOf(x) > 10,
      'every simulated user to sign up again and the load to flow',
      60_000,
    );
    expect(recovered.operations.login.ok).toBeGreaterThanOrEqual(USERS);
  });
});

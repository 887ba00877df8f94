import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../kit/config.ts';
import { startService, type RunningService } from '../../kit/server.ts';
import { freePort, testEnv, waitFor } from '../../kit/testing.ts';
import { loadgenDefinition } from './definition.ts';

const running: RunningService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A loadgen pointed at a port where nothing listens: the gateway is "down". */
async function startLoadgen(overrides: Record<string, string> = {}) {
  const env = testEnv('loadgen', {
    DISCOVERY: 'dns',
    DNS_PORT: '1',
    PUBLIC_URL: `http://127.0.0.1:${await freePort()}`,
    LOADGEN_AUTOSTART: 'false',
    ...overrides,
  });
  const service = await startService(loadgenDefinition, env);
  running.push(service);
  const admin = (method: string, path: string, body?: unknown, token: string | null = env.ADMIN_TOKEN!) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  return { service, admin };
}

describe('loadgen admin API', () => {
  it('needs the cluster admin credential', async () => {
    const { admin } = await startLoadgen();
    expect((await admin('GET', '/admin/load', undefined, null)).status).toBe(401);
    expect((await admin('PUT', '/admin/load', { running: true }, 'wrong-token-wrong-token')).status).toBe(
      401,
    );
  });

  it('reports the settings from the environment and empty stats', async () => {
    const { admin } = await startLoadgen({
      LOADGEN_RATE: '12.5',
      LOADGEN_USERS: '20',
      LOADGEN_STREAMERS: '3',
      LOADGEN_MIX: 'post=1,follow=0',
    });
    const res = await admin('GET', '/admin/load');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      settings: unknown;
      stats: { running: boolean; operations: Record<string, { ok: number; latencyMs: { count: number } }> };
    };
    expect(body.settings).toEqual({
      running: false,
      ratePerSecond: 12.5,
      users: 20,
      streamers: 3,
      mix: { post: 1, timeline: 5, profile: 2, follow: 0 },
      maxInFlight: 50,
    });
    expect(body.stats.running).toBe(false);
    expect(Object.keys(body.stats.operations)).toEqual([
      'signup',
      'login',
      'refresh',
      'post',
      'timeline',
      'profile',
      'follow',
      'stream',
    ]);
    expect(body.stats.operations.post).toMatchObject({ ok: 0, latencyMs: { count: 0 } });
  });

  it('changes any subset of the settings, merging a partial mix', async () => {
    const { admin } = await startLoadgen();
    const res = await admin('PUT', '/admin/load', {
      ratePerSecond: 0,
      users: 3,
      streamers: 0,
      mix: { follow: 4 },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { settings: unknown };
    expect(body.settings).toEqual({
      running: false,
      ratePerSecond: 0,
      users: 3,
      streamers: 0,
      mix: { post: 2, timeline: 5, profile: 2, follow: 4 },
      maxInFlight: 50,
    });
    const again = (await (await admin('GET', '/admin/load')).json()) as { settings: unknown };
    expect(again.settings).toEqual(body.settings);
  });

  it.each([
    [{ ratePerSecond: 501 }, '/body/ratePerSecond'],
    [{ ratePerSecond: -1 }, '/body/ratePerSecond'],
    [{ users: 0 }, '/body/users'],
    [{ users: 2.5 }, '/body/users'],
    [{ users: 501 }, '/body/users'],
    [{ streamers: 101 }, '/body/streamers'],
    [{ running: 'yes' }, '/body/running'],
    [{ mix: { post: -1 } }, '/body/mix/post'],
    [{ mix: { post: 0, timeline: 0, profile: 0, follow: 0 } }, '/body/mix'],
    [{ mix: { tweet: 1 } }, '/body/mix'],
    [{ speed: 3 }, '/body'],
    [{ users: 1 }, '/body/streamers'], // the default 2 streamers no longer fit
  ])('refuses %j with a 400 problem naming %s', async (patch, pointer) => {
    const { admin } = await startLoadgen();
    const res = await admin('PUT', '/admin/load', patch);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as {
      status: number;
      detail: string;
      errors: Array<{ pointer: string }>;
    };
    expect(problem.status).toBe(400);
    expect(problem.errors.map((e) => e.pointer)).toContain(pointer);
    // A refused change changes nothing.
    const current = (await (await admin('GET', '/admin/load')).json()) as {
      settings: { users: number; ratePerSecond: number };
    };
    expect(current.settings).toMatchObject({ users: 8, ratePerSecond: 5 });
  });

  it('refuses a body that is not JSON', async () => {
    const { admin } = await startLoadgen();
    const res = await admin('PUT', '/admin/load', '{running:');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('is ready while the gateway is unreachable, keeps trying, and stops cleanly', async () => {
    const { admin, service } = await startLoadgen({
      LOADGEN_AUTOSTART: 'true',
      LOADGEN_RATE: '50',
      LOADGEN_USERS: '2',
      LOADGEN_STREAMERS: '1',
      LOADGEN_TIMEOUT_MS: '500',
    });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const stats = await waitFor(
      async () => {
        const body = (await (await admin('GET', '/admin/load')).json()) as {
          stats: {
            operations: { signup: { errors: { network: number } }; stream: { errors: { network: number } } };
            ticks: { skippedNoSession: number };
            recentErrors: Array<{ detail: string; status: number | null }>;
          };
        };
        const s = body.stats;
        return s.operations.signup.errors.network > 0 &&
          s.operations.stream.errors.network + s.ticks.skippedNoSession > 0
          ? s
          : undefined;
      },
      { what: 'failed sign-ups to be counted', timeoutMs: 5_000 },
    );
    expect(stats.recentErrors[0]).toMatchObject({ status: null, detail: expect.stringMatching(/refused/) });
    // Backoff: far fewer attempts than ticks.
    expect(stats.ticks.skippedNoSession).toBeGreaterThan(0);
    const started = Date.now();
    await service.close();
    running.length = 0;
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('refuses a bad environment at start, naming the variable', async () => {
    const port = String(await freePort());
    for (const [name, value] of [
      ['LOADGEN_RATE', 'fast'],
      ['LOADGEN_MIX', 'post=two'],
      ['LOADGEN_AUTOSTART', 'maybe'],
      ['LOADGEN_STREAMERS', '9'],
      ['LOADGEN_HANDLE_PREFIX', 'Bad-Prefix'],
    ] as const) {
      const env = testEnv('loadgen', {
        DISCOVERY: 'dns',
        DNS_PORT: '1',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        [name]: value,
      });
      const error: unknown = await startService(loadgenDefinition, env).then(
        (s) => {
          running.push(s);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(name);
    }
  });
});

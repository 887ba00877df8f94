import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually } from './http.ts';
import { login } from './oauth-client.ts';

interface Page {
  items: Array<{ id: string; text: string; author: { handle: string; displayName: string } }>;
  degraded: boolean;
  degradedReasons: Array<{ service: string; reason: string }>;
}
interface Breaker {
  name: string;
  state: string;
  counts: { shortCircuited: number; fallback: number };
  transitions: Array<{ from: string; to: string }>;
}

let cluster: TestCluster;
let reader: string;
let writer: string;

beforeAll(async () => {
  cluster = await startCluster();
  const g = cluster.gateway;
  await api(g, 'POST', '/api/accounts', {
    body: { handle: 'reader', password: 'reader-password', displayName: 'Reader' },
  });
  await api(g, 'POST', '/api/accounts', {
    body: { handle: 'writer', password: 'writer-password', displayName: 'Writer' },
  });
  reader = (await login(g, 'reader', 'reader-password')).accessToken;
  writer = (await login(g, 'writer', 'writer-password')).accessToken;
  expect((await api(g, 'PUT', '/api/users/writer/follow', { token: reader })).status).toBe(204);
});
afterAll(async () => {
  await cluster?.stop();
});

const timeline = () => api<Page>(cluster.gateway, 'GET', '/api/timeline?limit=50', { token: reader });
const post = (text: string) =>
  api<{ id: string }>(cluster.gateway, 'POST', '/api/tweets', { token: writer, body: { text } });
const breaker = async (name: string) => {
  const res = await cluster.admin<{ breakers: Breaker[] }>('gateway', 'GET', '/admin/breakers');
  return res.body.breakers.find((b) => b.name === name);
};

describe('when the timeline service dies', () => {
  it('serves the home timeline degraded, opens the breaker, keeps every post, and heals after a restart', async () => {
    const before = await post('before the outage');
    expect(before.status).toBe(201);
    await eventually(timeline, (r) => r.body.items?.some((i) => i.id === before.body.id));

    await cluster.runtime.kill('timeline');
    expect((await cluster.instance('timeline')).state).toBe('killed');

    // Every read during the outage is still answered, from the fallback, and says so.
    for (let i = 0; i < 8; i++) {
      const res = await timeline();
      expect(res.status).toBe(200);
      expect(res.body.degraded).toBe(true);
      expect(res.headers['x-chaoscope-degraded']).toContain('timeline');
      expect(res.body.degradedReasons.map((r) => r.service)).toContain('timeline');
      expect(res.body.items.map((t) => t.id)).toContain(before.body.id);
    }
    const open = await eventually(
      () => breaker('gateway:timeline'),
      (b) => b?.state === 'open',
      5_000,
    );
    expect(open?.state).toBe('open');
    await timeline();
    expect((await breaker('gateway:timeline'))!.counts.shortCircuited).toBeGreaterThan(0);

    // Posts are acknowledged while timeline is down; they wait in the tweets outbox.
    const during = await Promise.all(['during one', 'during two', 'during three'].map(post));
    for (const p of during) expect(p.status).toBe(201);
    const degradedWithNew = await timeline();
    expect(degradedWithNew.body.items.map((i) => i.id)).toEqual(
      expect.arrayContaining(during.map((p) => p.body.id)),
    );
    const outbox = await cluster.admin<{ byDestination: Record<string, { pending: number }> }>(
      'tweets',
      'GET',
      '/admin/outbox',
    );
    expect(outbox.body.byDestination.timeline?.pending).toBeGreaterThanOrEqual(3);

    await cluster.runtime.start('timeline');

    // Healed by itself: the breaker lets a trial through, closes, and the outbox delivers.
    const healed = await eventually(
      timeline,
      (r) =>
        r.status === 200 &&
        !r.body.degraded &&
        during.every((p) => r.body.items.some((i) => i.id === p.body.id)),
      30_000,
      250,
    );
    expect(healed.body.degraded).toBe(false);
    expect(healed.body.items.map((i) => i.id)).toEqual(
      expect.arrayContaining([before.body.id, ...during.map((p) => p.body.id)]),
    );
    const closed = await breaker('gateway:timeline');
    expect(closed?.state).toBe('closed');
    expect(closed?.transitions.map((t) => t.to)).toEqual(
      expect.arrayContaining(['open', 'half-open', 'closed']),
    );
  });
});

describe('when the users service dies', () => {
  it('still shows the timeline with authors by handle, marked degraded', async () => {
    const p = await post('profiles are down');
    await eventually(timeline, (r) => r.body.items?.some((i) => i.id === p.body.id));
    await cluster.runtime.kill('users');
    try {
      const res = await timeline();
      expect(res.status).toBe(200);
      expect(res.body.degraded).toBe(true);
      expect(res.body.degradedReasons.map((r) => r.service)).toContain('users');
      expect(res.body.items.find((i) => i.id === p.body.id)?.author).toEqual({
        handle: 'writer',
        displayName: 'writer',
      });
    } finally {
      await cluster.runtime.start('users');
    }
  });
});

describe('the registry', () => {
  it('evicts an instance that stops heartbeating and takes it back when it resumes', async () => {
    const users = await cluster.instance('users');
    const registry = await cluster.instance('registry');
    const lookup = () =>
      api<{ instances: Array<{ id: string }> }>(`http://${registry.address}`, 'GET', '/v1/services/users');
    expect((await lookup()).body.instances.map((i) => i.id)).toContain(users.id);

    process.kill(users.pid!, 'SIGSTOP');
    try {
      const evicted = await eventually(lookup, (r) => r.body.instances.length === 0, 15_000, 200);
      expect(evicted.body.instances).toEqual([]);
    } finally {
      process.kill(users.pid!, 'SIGCONT');
    }
    const back = await eventually(
      lookup,
      (r) => r.body.instances.some((i) => i.id === users.id),
      15_000,
      200,
    );
    expect(back.body.instances.map((i) => i.id)).toContain(users.id);
  });
});

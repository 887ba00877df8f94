import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSse, type SseEvent } from '../../kit/registry-watch.ts';
import { startService, type RunningService } from '../../kit/server.ts';
import { freePort, testEnv, waitFor } from '../../kit/testing.ts';
import { registryService } from './service.ts';

const running: RunningService[] = [];
const aborts: AbortController[] = [];

afterEach(async () => {
  for (const abort of aborts.splice(0)) abort.abort();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function startRegistry(overrides: Record<string, string> = {}): Promise<RunningService> {
  const port = overrides.PORT ?? String(await freePort());
  const registry = await startService(
    registryService,
    testEnv('registry', {
      PORT: port,
      ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
      REGISTRY_URL: `http://127.0.0.1:${port}`,
      ...overrides,
    }),
  );
  running.push(registry);
  return registry;
}

async function call(
  base: string,
  method: 'GET' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await request(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    type: String(response.headers['content-type'] ?? ''),
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & {
      instances?: Array<Record<string, unknown>>;
    },
  };
}

/** A raw watch subscription collecting every event, as a dashboard would see them. */
async function watch(base: string): Promise<SseEvent[] & { ended?: Promise<void> }> {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await request(`${base}/v1/watch`, { signal: abort.signal });
  expect(response.statusCode).toBe(200);
  expect(String(response.headers['content-type'])).toMatch(/^text\/event-stream/);
  const events: SseEvent[] & { ended?: Promise<void> } = [];
  events.ended = (async () => {
    for await (const event of parseSse(response.body)) events.push(event);
  })();
  events.ended.catch(() => undefined);
  await waitFor(() => events.length > 0, { what: 'the snapshot event' });
  return events;
}

describe('registry service', () => {
  it('registers an instance and shows it in lookups; re-registering is idempotent', async () => {
    const { url } = await startRegistry();
    const first = await call(url, 'PUT', '/v1/instances/users/users-1', {
      address: '127.0.0.1:7001',
      meta: { zone: 'a' },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: 'users-1',
      service: 'users',
      address: '127.0.0.1:7001',
      meta: { zone: 'a' },
      ttlSeconds: 5,
    });

    const again = await call(url, 'PUT', '/v1/instances/users/users-1', {
      address: '127.0.0.1:7001',
      meta: { zone: 'a' },
    });
    expect(again.status).toBe(200);
    expect(again.body.registeredAt).toBe(first.body.registeredAt);

    await call(url, 'PUT', '/v1/instances/tweets/tweets-1', { address: '127.0.0.1:7002' });
    const one = await call(url, 'GET', '/v1/services/users');
    expect(one.status).toBe(200);
    expect(one.body.service).toBe('users');
    expect(one.body.instances?.map((i) => i.id)).toEqual(['users-1']);
    expect(Object.keys(one.body.instances?.[0] ?? {}).sort()).toEqual(
      ['address', 'id', 'lastHeartbeat', 'meta', 'registeredAt', 'service', 'ttlSeconds'].sort(),
    );

    const all = await call(url, 'GET', '/v1/services');
    expect((all.body.services as Array<{ service: string }>).map((s) => s.service)).toEqual([
      'tweets',
      'users',
    ]);

    const unknown = await call(url, 'GET', '/v1/services/nobody');
    expect(unknown.body).toEqual({ service: 'nobody', instances: [] });
  });

  it('keeps an instance that heartbeats and evicts one that stops, announcing it on the watch stream', async () => {
    const { url } = await startRegistry();
    const events = await watch(url);
    await call(url, 'PUT', '/v1/instances/users/alive', { address: '127.0.0.1:7001', ttlSeconds: 1 });
    await call(url, 'PUT', '/v1/instances/users/silent', { address: '127.0.0.1:7002', ttlSeconds: 1 });

    const beats = setInterval(
      () => void call(url, 'PUT', '/v1/instances/users/alive/heartbeat').catch(() => undefined),
      250,
    );
    try {
      const evicted = await waitFor(() => events.find((e) => e.event === 'evicted'), {
        timeoutMs: 4_000,
        what: 'an evicted event',
      });
      expect(JSON.parse(evicted.data)).toMatchObject({ instance: { id: 'silent', service: 'users' } });
      // Well past the TTL: the one that beats is still there.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const lookup = await call(url, 'GET', '/v1/services/users');
      expect(lookup.body.instances?.map((i) => i.id)).toEqual(['alive']);
    } finally {
      clearInterval(beats);
    }

    const heartbeat = await call(url, 'PUT', '/v1/instances/users/silent/heartbeat');
    expect(heartbeat.status).toBe(404);
    expect(heartbeat.type).toMatch(/^application\/problem\+json/);

    const kinds = events.map((e) => e.event);
    expect(kinds[0]).toBe('snapshot');
    expect(kinds.filter((k) => k === 'registered')).toHaveLength(2);
  });

  it('deregisters (204, then 404) and tells watchers', async () => {
    const { url } = await startRegistry();
    await call(url, 'PUT', '/v1/instances/users/users-1', { address: '127.0.0.1:7001' });
    const events = await watch(url);
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({
      services: [{ service: 'users', instances: [{ id: 'users-1' }] }],
    });

    expect((await call(url, 'DELETE', '/v1/instances/users/users-1')).status).toBe(204);
    expect((await call(url, 'DELETE', '/v1/instances/users/users-1')).status).toBe(404);
    const gone = await waitFor(() => events.find((e) => e.event === 'deregistered'), {
      what: 'a deregistered event',
    });
    expect(JSON.parse(gone.data)).toMatchObject({ instance: { id: 'users-1' }, forced: false });
    expect((await call(url, 'GET', '/v1/services/users')).body.instances).toEqual([]);
  });

  it('answers bad input with 400 problem+json naming each field', async () => {
    const { url } = await startRegistry();
    const cases: Array<[string, unknown]> = [
      ['/v1/instances/users/u1', { address: 'not-an-address' }],
      ['/v1/instances/users/u1', { address: '127.0.0.1:70000' }],
      ['/v1/instances/users/u1', { address: '127.0.0.1:7001', ttlSeconds: 0 }],
      ['/v1/instances/users/u1', { address: '127.0.0.1:7001', ttlSeconds: 61 }],
      ['/v1/instances/users/u1', { address: '127.0.0.1:7001', meta: { zone: 3 } }],
      ['/v1/instances/users/u1', { address: '127.0.0.1:7001', surprise: true }],
      ['/v1/instances/Users/u1', { address: '127.0.0.1:7001' }],
      ['/v1/instances/users/-u1', { address: '127.0.0.1:7001' }],
    ];
    for (const [path, body] of cases) {
      const answer = await call(url, 'PUT', path, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.type).toMatch(/^application\/problem\+json/);
      const errors = answer.body.errors as Array<{ pointer: unknown; detail: unknown }>;
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors)
        expect(typeof error.pointer === 'string' && typeof error.detail === 'string').toBe(true);
    }
    const missing = await call(url, 'PUT', '/v1/instances/users/u1');
    expect(missing.status).toBe(400);
    const notJson = await request(`${url}/v1/instances/users/u1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(notJson.statusCode).toBe(400);
    expect(String(notJson.headers['content-type'])).toMatch(/^application\/problem\+json/);
    await notJson.body.dump();
    expect((await call(url, 'GET', '/v1/services')).body.services).toEqual([]);
  });

  it('guards the force-deregister admin route with the admin credential', async () => {
    const admin = { ADMIN_TOKEN: 'test-admin-token-0123456789' };
    const { url } = await startRegistry(admin);
    await call(url, 'PUT', '/v1/instances/users/users-1', { address: '127.0.0.1:7001' });
    const events = await watch(url);

    const anonymous = await call(url, 'DELETE', '/admin/instances/users/users-1');
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toMatch(/^application\/problem\+json/);
    const wrong = await call(url, 'DELETE', '/admin/instances/users/users-1', undefined, {
      authorization: 'Bearer not-the-token-at-all',
    });
    expect(wrong.status).toBe(401);
    expect((await call(url, 'GET', '/v1/services/users')).body.instances).toHaveLength(1);

    const bearer = { authorization: `Bearer ${admin.ADMIN_TOKEN}` };
    expect((await call(url, 'DELETE', '/admin/instances/users/users-1', undefined, bearer)).status).toBe(204);
    expect((await call(url, 'DELETE', '/admin/instances/users/users-1', undefined, bearer)).status).toBe(404);
    const gone = await waitFor(() => events.find((e) => e.event === 'deregistered'), {
      what: 'a deregistered event',
    });
    expect(JSON.parse(gone.data)).toMatchObject({ forced: true });
  });

  it('restarts knowing the instances from its snapshot, and still expires those that stay silent', async () => {
    const first = await startRegistry();
    const dataDir = first.ctx.config.DATA_DIR;
    const port = String(first.ctx.config.PORT);
    await call(first.url, 'PUT', '/v1/instances/users/users-1', { address: '127.0.0.1:7001', ttlSeconds: 2 });
    await call(first.url, 'PUT', '/v1/instances/tweets/tweets-1', {
      address: '127.0.0.1:7002',
      ttlSeconds: 2,
    });
    await call(first.url, 'DELETE', '/v1/instances/tweets/tweets-1');
    const registered = (await call(first.url, 'GET', '/v1/services/users')).body.instances?.[0];
    await first.close();
    running.splice(running.indexOf(first), 1);

    const onDisk = JSON.parse(readFileSync(join(dataDir, 'registry-snapshot.json'), 'utf8')) as {
      instances: Array<{ id: string }>;
    };
    expect(onDisk.instances.map((i) => i.id)).toEqual(['users-1']);

    const second = await startRegistry({ DATA_DIR: dataDir, PORT: port });
    const restored = await call(second.url, 'GET', '/v1/services/users');
    expect(restored.body.instances).toEqual([registered]);
    expect((await call(second.url, 'GET', '/v1/services/tweets')).body.instances).toEqual([]);

    // Nobody heartbeats: one TTL after the restart it is gone.
    await waitFor(
      async () => (await call(second.url, 'GET', '/v1/services/users')).body.instances?.length === 0,
      {
        timeoutMs: 5_000,
        what: 'the restored instance to expire',
      },
    );
  });

  it('starts empty from a corrupt snapshot instead of refusing to start', async () => {
    const first = await startRegistry();
    const { DATA_DIR, PORT } = first.ctx.config;
    await first.close();
    running.splice(running.indexOf(first), 1);
    writeFileSync(join(DATA_DIR, 'registry-snapshot.json'), '{"version":1,"instances":[{"id":');
    const second = await startRegistry({ DATA_DIR, PORT: String(PORT) });
    expect((await call(second.url, 'GET', '/v1/services')).body.services).toEqual([]);
  });

  it('ends watch streams when it shuts down, so closing does not hang', async () => {
    const registry = await startRegistry();
    const events = await watch(registry.url);
    expect(events[0]?.event).toBe('snapshot');
    await registry.close();
    running.splice(running.indexOf(registry), 1);
    // The stream ended cleanly (the server closed it) rather than being cut or left open.
    await expect(events.ended).resolves.toBeUndefined();
  });
});

// The discovery client (kit/discovery.ts) against a real registry. It lives here because the kit
// may not import a service, and a fake registry would prove nothing.
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryDiscovery } from '../../kit/discovery.ts';
import { NoInstanceError, type Discovery } from '../../kit/discovery-types.ts';
import { startService, type RunningService } from '../../kit/server.ts';
import { freePort, testEnv, waitFor } from '../../kit/testing.ts';
import { registryService } from './service.ts';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const quickBackoff = { initialMs: 50, maxMs: 250 };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRegistry(options: { port?: number; dataDir?: string } = {}): Promise<RunningService> {
  const port = options.port ?? (await freePort());
  const registry = await startService(
    registryService,
    testEnv('registry', {
      PORT: String(port),
      ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
      REGISTRY_URL: `http://127.0.0.1:${port}`,
      ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}),
    }),
  );
  cleanups.push(() => registry.close());
  return registry;
}

function client(registryUrl: string, ttlSeconds = 1): RegistryDiscovery {
  const discovery = new RegistryDiscovery({
    registryUrl,
    log,
    ttlSeconds,
    backoff: quickBackoff,
    requestTimeoutMs: 1_000,
  });
  cleanups.push(() => discovery.stop());
  return discovery;
}

async function listed(
  registryUrl: string,
  service: string,
): Promise<Array<{ id: string; registeredAt: string }>> {
  const response = await request(`${registryUrl}/v1/services/${service}`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = (await response.body.json()) as { instances: Array<{ id: string; registeredAt: string }> };
  return body.instances;
}

async function lookup(registryUrl: string, service: string): Promise<string[]> {
  return (await listed(registryUrl, service)).map((i) => i.id);
}

async function picks(discovery: Discovery, service: string, n: number): Promise<string[]> {
  const chosen: string[] = [];
  for (let i = 0; i < n; i++) chosen.push((await discovery.pick(service)).id);
  return chosen;
}

describe('RegistryDiscovery', () => {
  it('registers on start, keeps the registration alive past its TTL, and deregisters on stop', async () => {
    const registry = await startRegistry();
    const users = client(registry.url, 1);
    await users.start({
      service: 'users',
      instanceId: 'users-1',
      address: '127.0.0.1:7001',
      meta: { protocol: 'http' },
    });
    expect(await lookup(registry.url, 'users')).toEqual(['users-1']);

    // Three TTLs later it is still there: heartbeats every third of the TTL.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await lookup(registry.url, 'users')).toEqual(['users-1']);
    expect(users.connected()).toBe(true);

    await users.stop();
    expect(await lookup(registry.url, 'users')).toEqual([]);
  });

  it('learns about instances from the watch stream and round-robins over them', async () => {
    const registry = await startRegistry();
    const gateway = client(registry.url);
    await gateway.start({ service: 'gateway', instanceId: 'gateway-1', address: '127.0.0.1:7000' });
    await waitFor(() => gateway.connected(), { what: 'the watch stream' });
    expect(await gateway.instances('users')).toEqual([]);

    const a = client(registry.url);
    const b = client(registry.url);
    await a.start({ service: 'users', instanceId: 'users-a', address: '127.0.0.1:7001' });
    await b.start({
      service: 'users',
      instanceId: 'users-b',
      address: '127.0.0.1:7002',
      meta: { zone: 'b' },
    });

    const known = await waitFor(
      async () => ((await gateway.instances('users')).length === 2 ? gateway.instances('users') : undefined),
      {
        what: 'both users instances in the cache',
      },
    );
    expect(known.find((i) => i.id === 'users-b')).toEqual({
      id: 'users-b',
      service: 'users',
      address: '127.0.0.1:7002',
      meta: { zone: 'b' },
    });

    const chosen = await picks(gateway, 'users', 6);
    expect(new Set(chosen)).toEqual(new Set(['users-a', 'users-b']));
    expect(chosen.slice(0, 2)).toEqual(chosen.slice(2, 4));
    expect(chosen[0]).not.toBe(chosen[1]);

    // A deregistration reaches the cache through the stream too.
    await a.stop();
    await waitFor(async () => (await gateway.instances('users')).length === 1, {
      what: 'users-a to leave the cache',
    });
    expect(await picks(gateway, 'users', 3)).toEqual(['users-b', 'users-b', 'users-b']);
  });

  it('drops an instance from the cache when the registry evicts it', async () => {
    const registry = await startRegistry();
    const watcher = client(registry.url);
    await request(`${registry.url}/v1/instances/users/users-x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: '127.0.0.1:7009', ttlSeconds: 1 }),
    }).then((r) => r.body.dump());
    expect((await watcher.pick('users')).id).toBe('users-x');
    await waitFor(() => watcher.connected(), { what: 'the watch stream' });
    await waitFor(async () => (await watcher.instances('users')).length === 0, {
      timeoutMs: 4_000,
      what: 'the eviction to reach the cache',
    });
    await expect(watcher.pick('users')).rejects.toBeInstanceOf(NoInstanceError);
  });

  it('looks a service up directly when nothing is cached yet (no watch needed)', async () => {
    const registry = await startRegistry();
    const users = client(registry.url);
    await users.start({ service: 'users', instanceId: 'users-1', address: '127.0.0.1:7001' });
    // A caller that has not registered and has no snapshot yet: its first pick asks the registry.
    const caller = client(registry.url);
    const chosen = await caller.pick('users');
    expect(chosen).toMatchObject({ id: 'users-1', address: '127.0.0.1:7001' });
    await expect(caller.pick('nobody')).rejects.toBeInstanceOf(NoInstanceError);
  });

  it('keeps serving cached instances while the registry is down', async () => {
    const registry = await startRegistry();
    const users = client(registry.url, 5);
    await users.start({ service: 'users', instanceId: 'users-1', address: '127.0.0.1:7001' });
    const gateway = client(registry.url, 5);
    await gateway.start({ service: 'gateway', instanceId: 'gateway-1', address: '127.0.0.1:7000' });
    await waitFor(async () => (await gateway.instances('users')).length === 1, {
      what: 'users in the cache',
    });

    await registry.close();
    await waitFor(() => !gateway.connected(), { what: 'the client to notice the registry is gone' });
    expect(await picks(gateway, 'users', 2)).toEqual(['users-1', 'users-1']);
    // A service never seen before cannot be found, and says so.
    await expect(gateway.pick('tweets')).rejects.toBeInstanceOf(NoInstanceError);
    // Stopping while the registry is down does not hang on the deregistration.
    await gateway.stop();
  });

  it('starts even when the registry is down, and registers once it comes up', async () => {
    const port = await freePort();
    const registryUrl = `http://127.0.0.1:${port}`;
    const users = client(registryUrl);
    await users.start({ service: 'users', instanceId: 'users-1', address: '127.0.0.1:7001' });
    expect(users.connected()).toBe(false);

    const registry = await startRegistry({ port });
    await waitFor(async () => (await lookup(registry.url, 'users')).includes('users-1'), {
      what: 'the background registration',
    });
    await waitFor(() => users.connected(), { what: 'the client to connect' });
  });

  it('re-registers after a registry restart: from the snapshot at once, or on the 404 heartbeat when it was lost', async () => {
    const first = await startRegistry();
    const { DATA_DIR: dataDir, PORT: port } = first.ctx.config;
    const users = client(first.url, 1);
    await users.start({ service: 'users', instanceId: 'users-1', address: '127.0.0.1:7001' });
    const gateway = client(first.url, 5);
    await gateway.start({ service: 'gateway', instanceId: 'gateway-1', address: '127.0.0.1:7000' });
    await waitFor(async () => (await gateway.instances('users')).length === 1, {
      what: 'users in the cache',
    });
    const [original] = await listed(first.url, 'users');

    // Same data dir: the restarted registry knows users-1 from its snapshot (same registration,
    // not a new one), and the heartbeats carry on past the TTL.
    await first.close();
    const second = await startRegistry({ port, dataDir });
    expect(await listed(second.url, 'users')).toEqual([
      expect.objectContaining({ id: 'users-1', registeredAt: original?.registeredAt }),
    ]);
    await waitFor(() => gateway.connected() && users.connected(), { what: 'both clients to reconnect' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await listed(second.url, 'users')).toEqual([
      expect.objectContaining({ id: 'users-1', registeredAt: original?.registeredAt }),
    ]);

    // A fresh data dir: the registry knows nobody, the heartbeat gets 404, the client registers anew.
    await second.close();
    const third = await startRegistry({ port });
    const fresh = await waitFor(
      async () => (await listed(third.url, 'users')).find((i) => i.id === 'users-1'),
      {
        what: 're-registration after a 404 heartbeat',
      },
    );
    expect(Date.parse(fresh.registeredAt)).toBeGreaterThan(Date.parse(original?.registeredAt ?? ''));
    // The gateway's new snapshot lacked users-1; the registration event puts it back.
    await waitFor(async () => (await gateway.instances('users')).length === 1, {
      what: 'users-1 back in the cache',
    });
    expect((await gateway.pick('users')).id).toBe('users-1');
  });

  it('comes back after an admin force-deregistration while it is alive', async () => {
    const registry = await startRegistry();
    const users = client(registry.url, 1);
    await users.start({ service: 'users', instanceId: 'users-1', address: '127.0.0.1:7001' });
    const removed = await request(`${registry.url}/admin/instances/users/users-1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${registry.ctx.config.ADMIN_TOKEN}` },
    });
    await removed.body.dump();
    expect(removed.statusCode).toBe(204);
    await waitFor(async () => (await lookup(registry.url, 'users')).includes('users-1'), {
      what: 're-registration',
    });
  });

  it('is what a service started with DISCOVERY=registry uses', async () => {
    const registry = await startRegistry();
    const port = await freePort();
    const users = await startService(
      { meta: { protocol: 'http' }, setup: () => undefined },
      testEnv('users', {
        PORT: String(port),
        ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
        REGISTRY_URL: registry.url,
      }),
    );
    cleanups.push(() => users.close());
    expect(users.ctx.discovery).toBeInstanceOf(RegistryDiscovery);
    const listed = await request(`${registry.url}/v1/services/users`).then((r) => r.body.json());
    expect(listed).toMatchObject({
      instances: [
        {
          id: users.ctx.config.CHAOSCOPE_INSTANCE_ID,
          address: `127.0.0.1:${port}`,
          meta: { protocol: 'http' },
        },
      ],
    });
    await users.close();
    expect(await lookup(registry.url, 'users')).toEqual([]);
  });
});

/**
 * The swarm runtime on a one-node swarm: the tweet cluster as Swarm services on an overlay network
 * (DNS round robin), the user journey through the gateway, a service scaled to two tasks that both
 * register, and a kill that the gateway's fallback covers until `start` rolls the service.
 *
 * The engine becomes a one-node swarm for this file when it is not one already, and leaves the
 * swarm again afterwards; a swarm that was there before is left as it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerClient } from '../../sample-cluster/runtime/docker/client.ts';
import { SwarmRuntime } from '../../sample-cluster/runtime/swarm/runtime.ts';
import type { ClusterStatus } from '../../sample-cluster/runtime/types.ts';
import { readerFollowingWriter } from './accounts.ts';
import { describeDocker } from './docker-cluster.ts';
import { api, eventually } from './http.ts';

interface Page {
  items: Array<{ id: string; text: string }>;
  degraded: boolean;
}

const docker = dockerClient();
let initialisedSwarm = false;
let home: string;
let runtime: SwarmRuntime;
let gateway: string;
let adminToken: string;
let reader: string;
let writer: string;

const timeline = () => api<Page>(gateway, 'GET', '/api/timeline?limit=50', { token: reader });
const post = (text: string) =>
  api<{ id: string }>(gateway, 'POST', '/api/tweets', { token: writer, body: { text } });
const instancesOf = (status: ClusterStatus, service: string) =>
  status.services.find((s) => s.name === service)?.instances ?? [];
const registered = async (service: string) => {
  const registry = instancesOf(await runtime.status(), 'registry')[0]!;
  return (
    await api<{ instances: Array<{ id: string }> }>(
      `http://${registry.address}`,
      'GET',
      `/v1/services/${service}`,
    )
  ).body.instances.map((i) => i.id);
};

describeDocker('the tweet cluster as Swarm services', () => {
  beforeAll(async () => {
    const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
    if (info.Swarm?.LocalNodeState !== 'active') {
      await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1:2377' });
      initialisedSwarm = true;
    }
    home = mkdtempSync(join(tmpdir(), 'cs-swarm-it-'));
    runtime = new SwarmRuntime({ home, logLevel: 'warn' });
    const status = await runtime.up({ gatewayPort: 18380 });
    gateway = status.gateway;
    adminToken = await runtime.adminToken();
    ({ reader, writer } = await readerFollowingWriter(gateway));
  }, 400_000);

  afterAll(async () => {
    await runtime?.down({ volumes: true }).catch((error: unknown) => console.error(error));
    if (initialisedSwarm) await docker.swarmLeave({ force: true }).catch(() => undefined);
    if (home) rmSync(home, { recursive: true, force: true });
  }, 180_000);

  it('runs every service as a swarm service, each task healthy and reachable for its admin routes', async () => {
    const status = await runtime.status();
    expect(status.runtime).toBe('swarm');
    expect(status.services.map((s) => s.name)).toEqual([
      'registry',
      'auth',
      'users',
      'tweets',
      'timeline',
      'realtime',
      'gateway',
    ]);
    for (const service of status.services) {
      expect(service.instances, service.name).toHaveLength(1);
      const [only] = service.instances;
      expect(only, service.name).toMatchObject({
        id: `${service.name}-1`,
        state: 'running',
        health: 'healthy',
      });
      const info = await api<{ instance: string }>(`http://${only!.address}`, 'GET', '/admin/info', {
        token: adminToken,
      });
      expect(info.body.instance).toBe(only!.id);
    }
    const services = await docker.listServices({ filters: { label: ['io.chaoscope.runtime=swarm'] } });
    for (const s of services) {
      expect(s.Spec?.EndpointSpec?.Mode).toBe('dnsrr');
      // No task mounts the Docker socket or any path of the host.
      const mounts = (s.Spec?.TaskTemplate as { ContainerSpec?: { Mounts?: Array<{ Type: string }> } })
        .ContainerSpec?.Mounts;
      expect(mounts?.every((m) => m.Type === 'volume' || m.Type === 'tmpfs')).toBe(true);
    }
  });

  it('signs up, logs in with code + PKCE, posts and reads the home timeline', async () => {
    const posted = await post('hello from a swarm task');
    expect(posted.status).toBe(201);
    const page = await eventually(
      timeline,
      (r) => r.body.items?.some((i) => i.id === posted.body.id),
      20_000,
    );
    expect(page.body.degraded).toBe(false);
    expect(page.body.items.map((i) => i.id)).toContain(posted.body.id);
  });

  it('scales timeline to two tasks; both register and the timeline keeps answering', async () => {
    const scaled = await runtime.scale('timeline', 2);
    expect(scaled.instances.map((i) => i.id)).toEqual(['timeline-1', 'timeline-2']);
    expect(scaled.instances.every((i) => i.state === 'running' && i.health === 'healthy')).toBe(true);
    const ids = await eventually(
      () => registered('timeline'),
      (list) => list.length === 2,
      20_000,
    );
    expect(ids.sort()).toEqual(['timeline-1', 'timeline-2']);
    for (let i = 0; i < 6; i++) expect((await timeline()).status).toBe(200);
    const back = await runtime.scale('timeline', 1);
    expect(back.instances.map((i) => i.id)).toEqual(['timeline-1']);
  }, 180_000);

  it('kills timeline: the fallback serves the home timeline, posts are kept, start heals it', async () => {
    const before = await post('before the kill');
    await eventually(timeline, (r) => r.body.items?.some((i) => i.id === before.body.id), 20_000);
    const killed = await runtime.kill('timeline');
    expect(killed.instances[0]).toMatchObject({ state: 'killed', signal: 'SIGKILL' });
    const degraded = await eventually(timeline, (r) => r.status === 200 && r.body.degraded, 20_000);
    expect(degraded.body.degraded).toBe(true);
    const during = await post('during the outage');
    expect(during.status).toBe(201);
    const started = await runtime.start('timeline');
    expect(started.instances.some((i) => i.state === 'running' && i.health === 'healthy')).toBe(true);
    const healed = await eventually(
      timeline,
      (r) => r.status === 200 && !r.body.degraded && r.body.items.some((i) => i.id === during.body.id),
      60_000,
      500,
    );
    expect(healed.body.items.map((i) => i.id)).toEqual(
      expect.arrayContaining([before.body.id, during.body.id]),
    );
  }, 240_000);

  it('refuses what a swarm cannot do, with the reason', async () => {
    await expect(runtime.scale('registry', 2)).rejects.toThrow(/exactly one instance/);
    await expect(runtime.scale('gateway', 2)).rejects.toThrow(/host mode/);
  });
});

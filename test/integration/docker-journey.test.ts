/**
 * The tweet cluster in containers on a real Docker engine, one cluster for the whole file: the
 * user journey through the gateway, telemetry reaching a collector on the host, what every
 * container is (labels, limits, no socket), and container chaos (kill, pause, partition, limits,
 * scale) seen both from the engine's event stream and from a user's requests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SERVICE_NAMES, serviceSpec, type ServiceName } from '../../sample-cluster/cluster.ts';
import { asInspected } from '../../sample-cluster/runtime/docker/status.ts';
import type { ContainerEvent, WatchHandle } from '../../sample-cluster/runtime/docker/watch.ts';
import type { LogLine } from '../../sample-cluster/runtime/docker/observe.ts';
import { readerFollowingWriter } from './accounts.ts';
import { describeDocker, startDockerCluster, type DockerTestCluster } from './docker-cluster.ts';
import { api, eventually, openStream } from './http.ts';

interface Page {
  items: Array<{ id: string; text: string; author: { handle: string; displayName: string } }>;
  degraded: boolean;
  degradedReasons?: Array<{ service: string; reason: string }>;
}
interface Breaker {
  name: string;
  state: string;
}

/** A minimal OTLP/HTTP JSON endpoint on every interface: containers reach it via the bridge. */
class SpanSink {
  readonly spans: Array<{ service: string; containerId: string | undefined; name: string }> = [];
  readonly #server: Server;
  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          this.#collect(JSON.parse(body.toString('utf8')) as OtlpTraces);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '0.0.0.0', resolve));
    return (this.#server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
  #collect(body: OtlpTraces): void {
    for (const rs of body.resourceSpans ?? []) {
      const attr = (key: string) => rs.resource?.attributes?.find((a) => a.key === key)?.value?.stringValue;
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? [])
          this.spans.push({
            service: attr('service.name') ?? '?',
            containerId: attr('container.id'),
            name: span.name,
          });
    }
  }
}
interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value?: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<{ name: string }> }>;
  }>;
}

let cluster: DockerTestCluster;
let sink: SpanSink;
let reader: string;
let writer: string;
let watch: WatchHandle;
const events: Array<ContainerEvent & { seenAt: number }> = [];

beforeAll(async () => {
  sink = new SpanSink();
  const port = await sink.listen();
  // The caller says 127.0.0.1, as it would for a collector on this machine; the runtime maps it.
  const otel = {
    OTEL_EXPORTER: 'otlp-json',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };
  cluster = await startDockerCluster({
    serviceEnv: Object.fromEntries(SERVICE_NAMES.map((name) => [name, otel])),
  });
  watch = await cluster.runtime.watch((e) => events.push({ ...e, seenAt: Date.now() }));
  ({ reader, writer } = await readerFollowingWriter(cluster.gateway));
}, 300_000);

afterAll(async () => {
  watch?.close();
  await cluster?.stop();
  await sink?.close();
}, 120_000);

const timeline = () => api<Page>(cluster.gateway, 'GET', '/api/timeline?limit=50', { token: reader });
const post = (text: string) =>
  api<{ id: string }>(cluster.gateway, 'POST', '/api/tweets', { token: writer, body: { text } });
const breaker = async (name: string) =>
  (await cluster.admin<{ breakers: Breaker[] }>('gateway', 'GET', '/admin/breakers')).body.breakers.find(
    (b) => b.name === name,
  );
const inspectAll = async () => {
  const status = await cluster.status();
  return Promise.all(
    status.services.flatMap((s) =>
      s.instances.map(async (i) => ({
        service: s.name,
        instance: i,
        info: asInspected(await cluster.runtime.docker.getContainer(i.containerId!).inspect()),
      })),
    ),
  );
};

describeDocker('the tweet cluster in Docker containers', () => {
  it('runs every service healthy, each reachable from the host on 127.0.0.1', async () => {
    const status = await cluster.status();
    expect(status.runtime).toBe('docker');
    expect(status.gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
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
      const [only] = service.instances;
      expect(service.instances, service.name).toHaveLength(1);
      expect(only, service.name).toMatchObject({ state: 'running', health: 'healthy' });
      expect(only!.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(only!.containerId).toMatch(/^[0-9a-f]{64}$/);
      const info = await cluster.admin<{ instance: string }>(service.name, 'GET', '/admin/info');
      expect(info.body.instance).toBe(only!.id);
    }
    expect(status.gateway).toBe(`http://${status.services.at(-1)!.instances[0]!.address}`);
  });

  it('signs up, logs in with code + PKCE, posts, streams and reads the home timeline', async () => {
    const g = cluster.gateway;
    const discovery = await api<{ issuer: string }>(g, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body.issuer).toBe(g);
    const stream = await openStream(`${g}/api/stream`, reader);
    expect(stream.status).toBe(200);
    const posted = await post('hello from a container');
    expect(posted.status).toBe(201);
    const page = await eventually(timeline, (r) => r.body.items?.some((i) => i.id === posted.body.id));
    expect(page.body.degraded).toBe(false);
    expect(page.body.items.find((i) => i.id === posted.body.id)).toMatchObject({
      text: 'hello from a container',
      author: { handle: 'writer', displayName: 'WRITER' },
    });
    const live = await eventually(
      async () =>
        stream.events.filter((e) => e.event === 'tweet').map((e) => JSON.parse(e.data) as { id: string }),
      (tweets) => tweets.some((t) => t.id === posted.body.id),
      10_000,
    );
    expect(live.map((t) => t.id)).toContain(posted.body.id);
    stream.close();
  });

  it('sends the services telemetry to a collector on the host, tagged with the container id', async () => {
    const status = await cluster.status();
    const gatewayContainer = status.services.find((s) => s.name === 'gateway')!.instances[0]!.containerId;
    await timeline();
    const spans = await eventually(
      async () => sink.spans.filter((s) => s.service === 'gateway'),
      (list) => list.length > 0,
      20_000,
      250,
    );
    expect(spans.length).toBeGreaterThan(0);
    expect(spans[0]!.containerId).toBe(gatewayContainer);
  });

  it('labels every container, limits its memory as cluster.ts says, runs it as non-root, and never mounts the Docker socket', async () => {
    const { clusterId } = await cluster.status();
    for (const { service, info } of await inspectAll()) {
      expect(info.Config?.Labels).toMatchObject({
        'io.chaoscope.cluster': clusterId,
        'io.chaoscope.service': service,
      });
      const raw = await cluster.runtime.docker.getContainer(info.Id).inspect();
      expect(raw.HostConfig.Memory, service).toBe(serviceSpec(service).memoryMb * 1024 * 1024);
      expect(raw.HostConfig.RestartPolicy?.Name).toBe('no');
      expect(raw.HostConfig.ReadonlyRootfs).toBe(true);
      expect(raw.Config.User).toBe('1000:1000');
      expect(raw.HostConfig.Binds ?? []).toEqual([]);
      for (const mount of raw.Mounts) {
        expect(mount.Type, `${service} mounts ${mount.Source}`).toBe('volume');
        expect(mount.Source).not.toContain('docker.sock');
        expect(mount.Destination).toBe('/data');
      }
      expect(raw.Mounts.length).toBe(serviceSpec(service).stateful ? 1 : 0);
    }
    const networks = await cluster.runtime.docker.listNetworks({
      filters: { label: [`io.chaoscope.cluster=${clusterId}`] },
    });
    expect(networks).toHaveLength(1);
    const volumes = await cluster.runtime.docker.listVolumes({
      filters: { label: [`io.chaoscope.cluster=${clusterId}`] },
    });
    expect((volumes.Volumes ?? []).map((v) => v.Labels?.['io.chaoscope.service']).sort()).toEqual([
      'auth',
      'registry',
      'timeline',
      'tweets',
      'users',
    ]);
  });

  it('kill timeline: the engine event arrives, the home timeline degrades, and all heals after start', async () => {
    const before = await post('before the outage');
    await eventually(timeline, (r) => r.body.items?.some((i) => i.id === before.body.id));

    const killedAt = Date.now();
    const killed = await cluster.runtime.kill('timeline');
    expect(killed.instances[0]).toMatchObject({ state: 'killed', signal: 'SIGKILL' });
    const die = await eventually(
      async () => events.find((e) => e.service === 'timeline' && e.action === 'die' && e.seenAt >= killedAt),
      (e) => e !== undefined,
      10_000,
    );
    expect(die?.instance?.state).toBe('killed');
    console.log(`[docker] kill → die event seen by the watcher after ${die!.seenAt - killedAt} ms`);

    for (let i = 0; i < 5; i++) {
      const res = await timeline();
      expect(res.status).toBe(200);
      expect(res.body.degraded).toBe(true);
      expect(res.headers['x-chaoscope-degraded']).toContain('timeline');
      expect(res.body.items.map((t) => t.id)).toContain(before.body.id);
    }
    expect(
      (
        await eventually(
          () => breaker('gateway:timeline'),
          (b) => b?.state === 'open',
          10_000,
        )
      )?.state,
    ).toBe('open');
    const during = await post('during the outage');
    expect(during.status).toBe(201);

    const started = await cluster.runtime.start('timeline');
    expect(started.instances[0]).toMatchObject({ state: 'running', health: 'healthy' });
    const healed = await eventually(
      timeline,
      (r) => r.status === 200 && !r.body.degraded && r.body.items.some((i) => i.id === during.body.id),
      45_000,
      250,
    );
    expect(healed.body.degraded).toBe(false);
    expect((await breaker('gateway:timeline'))?.state).toBe('closed');
  });

  it('pause users for a while: requests degrade, the engine reports it, and it thaws by itself', async () => {
    const pausedAt = Date.now();
    const paused = await cluster.runtime.pause('users', { durationMs: 4_000 });
    expect(paused.instances[0]).toMatchObject({ paused: true, health: 'unhealthy' });
    expect((await cluster.runtime.faults()).map((f) => f.kind)).toEqual(['pause']);
    const degraded = await timeline();
    expect(degraded.status).toBe(200);
    expect(degraded.body.degraded).toBe(true);
    expect(degraded.body.degradedReasons?.map((r) => r.service)).toContain('users');
    const pauseEvent = events.find(
      (e) => e.service === 'users' && e.action === 'pause' && e.seenAt >= pausedAt,
    );
    expect(pauseEvent?.instance?.paused).toBe(true);

    const thawed = await eventually(
      () => cluster.instance('users'),
      (i) => !i.paused && i.health === 'healthy',
      30_000,
      250,
    );
    expect(thawed).toMatchObject({ state: 'running', health: 'healthy' });
    expect(await cluster.runtime.faults()).toEqual([]);
    expect(events.some((e) => e.service === 'users' && e.action === 'unpause' && e.seenAt >= pausedAt)).toBe(
      true,
    );
    const back = await eventually(timeline, (r) => r.status === 200 && !r.body.degraded, 30_000, 250);
    expect(back.body.degraded).toBe(false);
  });

  it('partition users off the network, then heal: unreachable meanwhile, registered again after', async () => {
    const cutAt = Date.now();
    const cut = await cluster.runtime.partition('users');
    expect(cut.instances[0]).toMatchObject({ partitioned: true, health: 'unhealthy' });
    const disconnect = await eventually(
      async () => events.find((e) => e.service === 'users' && e.action === 'disconnect' && e.seenAt >= cutAt),
      (e) => e !== undefined,
      10_000,
    );
    expect(disconnect?.instance?.partitioned).toBe(true);
    const degraded = await eventually(timeline, (r) => r.body.degraded === true, 15_000, 250);
    expect(degraded.body.degradedReasons?.map((r) => r.service)).toContain('users');

    const healed = await cluster.runtime.heal('users');
    expect(healed.instances[0]?.partitioned).toBeUndefined();
    const back = await eventually(timeline, (r) => r.status === 200 && !r.body.degraded, 45_000, 250);
    expect(back.body.degraded).toBe(false);
    expect(await cluster.instance('users')).toMatchObject({ state: 'running', health: 'healthy' });
  });

  it('changes CPU and memory limits live and puts them back', async () => {
    const limited = await cluster.runtime.setLimits('timeline', { memoryMb: 200, cpus: 0.5 });
    const id = limited.instances[0]!.containerId!;
    const during = await cluster.runtime.docker.getContainer(id).inspect();
    expect(during.HostConfig.Memory).toBe(200 * 1024 * 1024);
    expect(during.HostConfig.NanoCpus).toBe(500_000_000);
    expect((await cluster.runtime.faults()).map((f) => f.kind)).toEqual(['limits']);
    await cluster.runtime.resetLimits('timeline');
    const after = await cluster.runtime.docker.getContainer(id).inspect();
    expect(after.HostConfig.Memory).toBe(serviceSpec('timeline').memoryMb * 1024 * 1024);
    // "No limit": the engine cannot unset NanoCpus, so it is every CPU the engine has.
    const cpus = (await cluster.runtime.preflight()).cpus!;
    expect([0, cpus * 1e9]).toContain(after.HostConfig.NanoCpus ?? 0);
    expect(await cluster.runtime.faults()).toEqual([]);
  });

  it('scales users to two: the registry lists both and the gateway spreads calls over them', async () => {
    const scaled = await cluster.runtime.scale('users', 2);
    expect(scaled.instances.map((i) => [i.id, i.state, i.health])).toEqual([
      ['users-1', 'running', 'healthy'],
      ['users-2', 'running', 'healthy'],
    ]);
    const registry = await cluster.instance('registry');
    const listed = await eventually(
      () =>
        api<{ instances: Array<{ id: string; address: string }> }>(
          `http://${registry.address}`,
          'GET',
          '/v1/services/users',
        ),
      (r) => r.body.instances?.length === 2,
    );
    expect(listed.body.instances.map((i) => i.address).sort()).toEqual(['users-1:8000', 'users-2:8000']);

    // A zero-latency fault on each instance counts the requests that reach it.
    const faults = await Promise.all(
      [0, 1].map((index) =>
        cluster.admin<{ id: string }>(
          'users',
          'POST',
          '/admin/faults',
          { kind: 'latency', latencyMs: 0 },
          index,
        ),
      ),
    );
    expect(faults.map((f) => f.status)).toEqual([201, 201]);
    await eventually(
      async () => {
        for (let i = 0; i < 10; i++)
          await api(cluster.gateway, 'GET', '/api/users/writer', { token: reader });
        return Promise.all(
          [0, 1].map(async (index) => {
            const list = await cluster.admin<{ faults: Array<{ applied: number }> }>(
              'users',
              'GET',
              '/admin/faults',
              undefined,
              index,
            );
            return list.body.faults[0]?.applied ?? 0;
          }),
        );
      },
      (applied) => applied.every((n) => n > 0),
      30_000,
      250,
    ).then((applied) =>
      expect(
        applied.every((n) => n > 0),
        `requests per instance: ${applied.join(', ')}`,
      ).toBe(true),
    );

    const back = await cluster.runtime.scale('users', 1);
    expect(back.instances.map((i) => i.id)).toEqual(['users-1']);
    await cluster.admin('users', 'DELETE', '/admin/faults');
    const one = await eventually(
      () =>
        api<{ instances: Array<{ id: string }> }>(`http://${registry.address}`, 'GET', '/v1/services/users'),
      (r) => r.body.instances?.length === 1,
    );
    expect(one.body.instances.map((i) => i.id)).toEqual(['users-1']);
  });

  it('gives each container its logs (tail and follow) and its CPU, memory and network figures', async () => {
    const lines: LogLine[] = [];
    for await (const line of cluster.runtime.logs('registry-1', { tail: 200 })) lines.push(line);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.instanceId === 'registry-1')).toBe(true);

    const abort = new AbortController();
    const followed: LogLine[] = [];
    const follow = (async () => {
      for await (const line of cluster.runtime.logs('gateway', {
        follow: true,
        tail: 1,
        signal: abort.signal,
      }))
        followed.push(line);
    })();
    await eventually(
      async () => followed.length,
      (n) => n > 0,
      10_000,
    );
    abort.abort();
    await follow;
    expect(followed[0]?.instanceId).toBe('gateway-1');

    const stats = await cluster.runtime.stats();
    expect(stats.map((s) => s.instanceId).sort()).toEqual(
      ['auth-1', 'gateway-1', 'realtime-1', 'registry-1', 'timeline-1', 'tweets-1', 'users-1'].sort(),
    );
    let total = 0;
    for (const s of stats) {
      const service = s.instanceId.replace(/-\d+$/, '') as ServiceName;
      expect(s.memoryBytes, s.instanceId).toBeGreaterThan(0);
      expect(s.memoryBytes).toBeLessThan(s.memoryLimitBytes);
      expect(s.memoryLimitBytes).toBe(serviceSpec(service).memoryMb * 1024 * 1024);
      expect(s.networkRxBytes).toBeGreaterThan(0);
      total += s.memoryBytes;
    }
    console.log(
      `[docker] idle memory: ${stats.map((s) => `${s.instanceId} ${(s.memoryBytes / 2 ** 20).toFixed(1)} MiB`).join(', ')}; total ${(total / 2 ** 20).toFixed(1)} MiB`,
    );
  });
});

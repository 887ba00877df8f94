/**
 * The docker runtime measured in one run (`BENCH_PARTS=docker npm run bench`, or alone):
 * - image build from scratch (bundles and both images removed first) and when nothing changed;
 * - cluster start to all-healthy with images cached, against plain `docker run` of the same number
 *   of containers from the same image, started in parallel and polled until each answers HTTP: the
 *   ratio is what the app adds (dependency order, readiness, trust, volumes, labels);
 * - kill-to-visible: from the kill call to the engine's `die` event at the runtime's watcher;
 * - the cluster's memory (sum of the containers' usage from `docker stats`) idle and under load.
 * Prints JSON on stdout; needs a reachable engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { dockerClient } from '../sample-cluster/runtime/docker/client.ts';
import { DockerRuntime } from '../sample-cluster/runtime/docker/runtime.ts';
import { LABEL } from '../sample-cluster/runtime/docker/labels.ts';
import { distinctFreePorts } from '../sample-cluster/runtime/process/ports.ts';
import { round } from './load.ts';

const LOAD_SECONDS = Number(process.env.BENCH_DOCKER_LOAD_SECONDS ?? 20);
const docker = dockerClient();

async function removeOurImages(engine: Docker): Promise<void> {
  for (const image of await engine.listImages({ filters: { label: [LABEL.image] } }))
    await engine
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const began = performance.now();
  const value = await run();
  return { ms: Math.round(performance.now() - began), value };
}

/** Plain `docker run -d -p` of `count` containers from `image`, each answering HTTP, in parallel. */
async function plainRun(image: string, count: number): Promise<number> {
  const ports = await distinctFreePorts(count);
  const server = "require('http').createServer((q,s)=>s.end('ok')).listen(8000)";
  const began = performance.now();
  const ids = await Promise.all(
    ports.map(async (port) => {
      const c = await docker.createContainer({
        Image: image,
        Cmd: ['node', '-e', server],
        Labels: { 'io.chaoscope.bench': 'plain-run' },
        ExposedPorts: { '8000/tcp': {} },
        HostConfig: { PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
      });
      await c.start();
      while (!(await probeHttp(`127.0.0.1:${port}`))) await new Promise((r) => setTimeout(r, 50));
      return c.id;
    }),
  );
  const ms = Math.round(performance.now() - began);
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true })));
  return ms;
}

async function probeHttp(address: string): Promise<boolean> {
  try {
    return (await fetch(`http://${address}/`, { signal: AbortSignal.timeout(500) })).ok;
  } catch {
    return false;
  }
}

async function clusterMemoryMb(runtime: DockerRuntime): Promise<number> {
  const stats = await runtime.stats();
  return round(stats.reduce((sum, s) => sum + s.memoryBytes, 0) / 2 ** 20, 1);
}

const home = mkdtempSync(join(tmpdir(), 'cs-bench-docker-'));
const runtime = new DockerRuntime({ home, logLevel: 'warn' });
try {
  await runtime.down({ volumes: true }).catch(() => undefined);
  await removeOurImages(docker);
  const fromScratch = await timed(() => runtime.up({ gatewayPort: 18480, services: ['registry'] }));
  await runtime.down({ volumes: true });
  const unchanged = await timed(() => runtime.up({ gatewayPort: 18480, services: ['registry'] }));
  await runtime.down({ volumes: true });

  const start = await timed(() => runtime.up({ gatewayPort: 18480, withLoadgen: true }));
  const containers = start.value.services.reduce((n, s) => n + s.instances.length, 0);
  const image = (await docker.listImages({ filters: { label: [`${LABEL.image}=services`] } }))[0]!
    .RepoTags![0]!;
  const plain = await plainRun(image, containers);

  const idleMb = await clusterMemoryMb(runtime);
  const loadgen = start.value.services.find((s) => s.name === 'loadgen')!.instances[0]!;
  const token = await runtime.adminToken();
  await fetch(`http://${loadgen.address}/admin/load`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users: 20, ratePerSecond: 40 }),
  });
  let peakMb = 0;
  for (let s = 0; s < LOAD_SECONDS; s += 2) {
    peakMb = Math.max(peakMb, await clusterMemoryMb(runtime));
    await new Promise((r) => setTimeout(r, 2_000));
  }

  const events: { service: string; action: string; at: number }[] = [];
  const watch = await runtime.watch((e) =>
    events.push({ service: e.service, action: e.action, at: performance.now() }),
  );
  const killedAt = performance.now();
  await runtime.kill('timeline');
  while (!events.some((e) => e.service === 'timeline' && e.action === 'die' && e.at >= killedAt))
    await new Promise((r) => setTimeout(r, 10));
  const killToVisibleMs = Math.round(
    events.find((e) => e.action === 'die' && e.at >= killedAt)!.at - killedAt,
  );
  watch.close();

  console.log(
    JSON.stringify({
      when: new Date().toISOString(),
      images: { fromScratchMs: fromScratch.ms, unchangedMs: unchanged.ms },
      start: {
        containers,
        clusterMs: start.ms,
        plainDockerRunMs: plain,
        ratio: round(start.ms / plain, 2),
      },
      killToVisibleMs,
      memory: { idleMb, underLoadPeakMb: peakMb, loadSeconds: LOAD_SECONDS, budgetMb: 1536 },
    }),
  );
} finally {
  await runtime.down({ volumes: true }).catch(() => undefined);
  runtime.close();
  rmSync(home, { recursive: true, force: true });
}

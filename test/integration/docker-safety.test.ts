/**
 * What the docker runtime must never do, and what it must always be able to do again: act on a
 * container that is not its cluster's (a bystander with no labels, and an impostor that carries a
 * service label but not the cluster one); lose a cluster or leave a fault behind when the control
 * plane that made it dies; remove data without being asked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serviceSpec } from '../../sample-cluster/cluster.ts';
import { isRuntimeError } from '../../sample-cluster/runtime/errors.ts';
import type { DockerRuntime } from '../../sample-cluster/runtime/docker/runtime.ts';
import {
  describeDocker,
  dockerRuntime,
  startDockerCluster,
  type DockerTestCluster,
} from './docker-cluster.ts';
import { eventually } from './http.ts';

let cluster: DockerTestCluster;
let clusterId: string;
const bystanders: string[] = [];
const otherHome = mkdtempSync(join(tmpdir(), 'chaoscope-docker-other-'));

beforeAll(async () => {
  cluster = await startDockerCluster({ services: ['users'] });
  const status = await cluster.status();
  clusterId = status.clusterId;
  const users = status.services.find((s) => s.name === 'users')!.instances[0]!;
  const image = (await cluster.runtime.docker.getContainer(users.containerId!).inspect()).Config.Image;
  // Same image, same kind of names; one with no labels, one with our service labels but no cluster.
  for (const [name, labels] of [
    [`bystander-${process.pid}`, {}],
    [
      `chaoscope-${clusterId}-users-9`,
      { 'io.chaoscope.service': 'users', 'io.chaoscope.instance': 'users-9' },
    ],
  ] as const) {
    const container = await cluster.runtime.docker.createContainer({
      name,
      Image: image,
      Cmd: ['node', '-e', 'setInterval(() => {}, 60_000)'],
      Labels: labels,
      HostConfig: { Memory: 64 * 1024 * 1024 },
    });
    await container.start();
    bystanders.push(container.id);
  }
}, 300_000);

afterAll(async () => {
  for (const id of bystanders)
    await cluster?.runtime.docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
  await cluster?.stop();
  rmSync(otherHome, { recursive: true, force: true });
}, 120_000);

async function bystanderStates() {
  return Promise.all(
    bystanders.map(async (id) => {
      const info = await cluster.runtime.docker.getContainer(id).inspect();
      return {
        running: info.State.Running,
        paused: info.State.Paused,
        startedAt: info.State.StartedAt,
        memory: info.HostConfig.Memory,
        networks: Object.keys(info.NetworkSettings.Networks).sort(),
      };
    }),
  );
}

describeDocker('docker runtime safety and adoption', () => {
  it('never touches a container without its cluster label, whatever the chaos verb', async () => {
    const before = await bystanderStates();
    expect(before.every((b) => b.running && !b.paused)).toBe(true);
    const rt = cluster.runtime;
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['kill', () => rt.kill('users', { signal: 'SIGKILL' })],
      ['start', () => rt.start('users')],
      ['stop', () => rt.stop('users', { graceSeconds: 2 })],
      ['start again', () => rt.start('users')],
      ['pause', () => rt.pause('users')],
      ['unpause', () => rt.unpause('users')],
      ['partition', () => rt.partition('users')],
      ['heal', () => rt.heal('users')],
      ['limits', () => rt.setLimits('users', { memoryMb: 96, cpus: 0.25 })],
      ['scale up', () => rt.scale('users', 2)],
      ['scale down', () => rt.scale('users', 1)],
      ['restart', () => rt.restart('users')],
      ['reset faults', () => rt.resetFaults()],
    ];
    for (const [name, step] of steps) {
      await step();
      expect(await bystanderStates(), `after ${name}`).toEqual(before);
    }
    expect(await cluster.instance('users')).toMatchObject({ state: 'running', health: 'healthy' });
  });

  it('a new runtime on the same home adopts the cluster and undoes the faults a dead one left behind', async () => {
    const first = cluster.runtime;
    const token = await first.adminToken();
    const users = await cluster.instance('users');
    await first.pause('users', { durationMs: 1_000 });
    await first.partition('users', { durationMs: 6_000 });
    // The control plane dies: its timers die with it, the faults stay.
    first.close();
    await new Promise((r) => setTimeout(r, 2_000));
    const frozen = await first.docker.getContainer(users.containerId!).inspect();
    expect(frozen.State.Paused).toBe(true);

    const second: DockerRuntime = dockerRuntime(cluster.home);
    try {
      const adopted = await second.adopt();
      expect(adopted?.clusterId).toBe(clusterId);
      expect(await second.adminToken()).toBe(token);
      // The pause was overdue: undone at adoption. The partition still had time: its timer is re-armed.
      const after = await second.docker.getContainer(users.containerId!).inspect();
      expect(after.State.Paused).toBe(false);
      expect((await second.faults()).map((f) => f.kind)).toEqual(['partition']);
      const healed = await eventually(
        () => second.docker.getContainer(users.containerId!).inspect(),
        (info) => Object.keys(info.NetworkSettings.Networks).includes(`chaoscope-${clusterId}`),
        20_000,
        250,
      );
      expect(Object.keys(healed.NetworkSettings.Networks)).toContain(`chaoscope-${clusterId}`);
      expect(await second.faults()).toEqual([]);
      const back = await eventually(
        async () => (await second.status()).services.find((s) => s.name === 'users')!.instances[0]!,
        (i) => i.health === 'healthy',
        30_000,
        250,
      );
      expect(back).toMatchObject({ state: 'running', health: 'healthy' });
    } finally {
      second.close();
    }
  });

  it('another home sees the cluster as not its own and cannot act on it', async () => {
    const stranger = dockerRuntime(otherHome);
    const clusters = await stranger.listClusters();
    const instances = (await cluster.status()).services.flatMap((s) => s.instances);
    expect(clusters.find((c) => c.clusterId === clusterId)).toMatchObject({
      mine: false,
      running: instances.length,
    });
    const error = await stranger.status().catch((e: unknown) => e);
    expect(isRuntimeError(error, 'NO_CLUSTER')).toBe(true);
    expect(await stranger.down({ volumes: true })).toMatchObject({ clusterId: null });
    expect((await cluster.status()).clusterId).toBe(clusterId);
    expect((await bystanderStates()).every((b) => b.running)).toBe(true);
  });

  it('down keeps the data, up reuses it, down --volumes removes it; bystanders survive all of it', async () => {
    const docker = cluster.runtime.docker;
    const ours = { filters: { label: [`io.chaoscope.cluster=${clusterId}`] } };
    const status = await cluster.status();
    const instances = status.services.flatMap((s) => s.instances.map((i) => i.id));
    const stateful = status.services.filter((s) => serviceSpec(s.name).stateful).map((s) => s.name);
    const down = await cluster.runtime.down({ volumes: false });
    expect(down.clusterId).toBe(clusterId);
    expect([...down.stopped].sort()).toEqual(instances.sort());
    expect(await docker.listContainers({ all: true, ...ours })).toEqual([]);
    expect(await docker.listNetworks(ours)).toEqual([]);
    expect(
      ((await docker.listVolumes(ours)).Volumes ?? []).map((v) => v.Labels['io.chaoscope.service']).sort(),
    ).toEqual(stateful.sort());
    expect((await bystanderStates()).every((b) => b.running && !b.paused)).toBe(true);

    const again = await cluster.runtime.up({ services: ['users'], gatewayPort: 18080 });
    expect(again.clusterId).toBe(clusterId);
    expect(again.services.flatMap((s) => s.instances).every((i) => i.health === 'healthy')).toBe(true);

    const gone = await cluster.runtime.down({ volumes: true });
    expect(gone.volumesRemoved).toBe(true);
    expect((await docker.listVolumes(ours)).Volumes ?? []).toEqual([]);
    expect((await bystanderStates()).every((b) => b.running && !b.paused)).toBe(true);
  });
});

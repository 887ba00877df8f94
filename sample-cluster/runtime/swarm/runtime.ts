/**
 * The swarm runtime: the tweet cluster as Swarm services (replicas on an attachable overlay
 * network, DNS round robin), through the same dockerode client as the docker runtime, against the
 * local engine or a remote one (DOCKER_HOST over TCP+TLS or SSH). The engine must be a swarm
 * manager already: joining or creating a swarm is the operator's decision, never the app's.
 *
 * Instances are tasks: `timeline-2` is slot 2 of the timeline service. The control plane reaches
 * each task for its admin routes at the task's address on `docker_gwbridge`, which only a machine
 * that is itself a swarm node can route to; on a remote swarm the admin routes (breakers, kit
 * faults) are out of reach and the runtime says so in the status' addresses.
 *
 * Nothing restarts a task by itself (restart condition `none`): a killed instance stays down until
 * `start` or `restart`, which roll the service's tasks (Swarm replaces tasks, not processes).
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { ServiceName, ServiceSpec } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';
import { SERVICE_PORT } from '../images/build.ts';
import { removeClusterTrust, trustDir } from '../pki.ts';
import { selectServices, stopWaves } from '../process/plan.ts';
import { probeReady } from '../process/probe.ts';
import { preferredOrNextFreePort } from '../process/ports.ts';
import type {
  ClusterRuntime,
  ClusterStatus,
  DownOptions,
  DownResult,
  InstanceState,
  InstanceStatus,
  KillOptions,
  RestartOptions,
  ServiceStatus,
  UpOptions,
} from '../types.ts';
import type { Emit } from '../docker/cluster-image.ts';
import {
  checkReplicas,
  clusterFacts,
  createClusterNetwork,
  engineSettings,
  findClusterNetwork,
  ignoreNotFound,
  isNotFound,
  orderedServices,
  preferredGatewayPort,
  removeOurVolumes,
  requireReachable,
  type ClusterNetwork,
  type EngineRuntimeOptions,
  type EngineSettings,
} from '../docker/engine-helpers.ts';
import { LABEL, labelFilter } from '../docker/labels.ts';
import { preflight, type DockerPreflight } from '../docker/preflight.ts';
import { serviceCreateOptions, swarmNames, type SwarmFacts } from './spec.ts';

const GWBRIDGE = 'docker_gwbridge';

/** Swarm owns stopping (no stop timeout here) and starts tasks slower than containers. */
export interface SwarmRuntimeOptions extends EngineRuntimeOptions {
  /** Per service. Default 90 s: a task is scheduled, created and started before it can answer. */
  readonly readyTimeoutMs?: number;
}

type Cluster = ClusterNetwork;

interface TaskContainer {
  readonly id: string;
  readonly service: ServiceName;
  readonly instanceId: string;
  readonly created: number;
  readonly running: boolean;
  readonly paused: boolean;
  readonly exitCode: number | undefined;
  readonly startedAt: string | undefined;
}

export class SwarmRuntime implements ClusterRuntime {
  readonly kind = 'swarm' as const;
  readonly home: string;
  readonly docker: Docker;
  readonly #s: EngineSettings;
  /** Containers this runtime killed, and with what: shown as `killed`, not as a crash. */
  readonly #killed = new Map<string, string>();
  #preflight: DockerPreflight | undefined;

  constructor(options: SwarmRuntimeOptions = {}) {
    this.#s = engineSettings(options, { dirName: 'swarm-cluster', readyTimeoutMs: 90_000 });
    this.home = this.#s.home;
    this.docker = this.#s.docker;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async up(options: UpOptions = {}): Promise<ClusterStatus> {
    const began = Date.now();
    const emit: Emit = (event) => options.onProgress?.({ ...event, elapsedMs: Date.now() - began });
    const engine = await this.#requireManager();
    const wanted = selectServices(this.#s.specs, options);
    let cluster = await this.#findCluster();
    let adminToken: string;
    if (cluster) {
      adminToken = await this.#adminTokenOf(cluster);
    } else {
      const preferred = preferredGatewayPort(options, this.#s.specs);
      const gatewayPort = await preferredOrNextFreePort(preferred);
      if (gatewayPort !== preferred)
        emit({ type: 'note', message: `port ${preferred} is busy; the gateway takes ${gatewayPort}` });
      cluster = await this.#createNetwork(randomBytes(6).toString('hex'), gatewayPort);
      adminToken = randomBytes(32).toString('base64url');
    }
    const existing = new Set(
      (await this.#services(cluster.clusterId)).map((s) => serviceLabel(s.Spec?.Labels)),
    );
    const toStart = wanted.filter((s) => !existing.has(s.name));
    if (toStart.length === 0) return this.status();
    const facts: SwarmFacts = {
      ...(await clusterFacts(this.#s, engine, cluster, adminToken, emit)),
      hostAddress: await this.#hostAddress(),
    };
    try {
      const started = new Map<ServiceName, Promise<void>>();
      for (const spec of toStart) {
        const dependencies = spec.dependsOn.flatMap((d) => started.get(d) ?? []);
        const done = Promise.all(dependencies).then(async () => {
          await this.docker.createService(serviceCreateOptions(facts, spec, 1));
          emit({
            type: 'service-starting',
            service: spec.name,
            instanceId: `${spec.name}-1`,
            address: 'swarm',
          });
          await this.#waitReady(cluster, spec.name, 1, emit, options.signal);
        });
        done.catch(() => undefined);
        started.set(spec.name, done);
      }
      const results = await Promise.allSettled(started.values());
      for (const result of results) if (result.status === 'rejected') throw result.reason;
    } catch (error) {
      if (existing.size === 0) await this.down({ volumes: false }).catch(() => undefined);
      throw error;
    }
    return this.status();
  }

  async down(options: DownOptions): Promise<DownResult> {
    await this.#requireEngine();
    const cluster = await this.#findCluster();
    if (!cluster) {
      if (options.volumes) await this.#removeVolumes();
      return { clusterId: null, stopped: [], volumesRemoved: options.volumes };
    }
    const stopped = (await this.#taskContainers(cluster.clusterId))
      .filter((c) => c.running)
      .map((c) => c.instanceId);
    const services = await this.#services(cluster.clusterId);
    // Dependents first, as the process runtime does, so nothing logs a dead dependency at the end.
    const present = this.#s.specs
      .filter((s) => services.some((x) => serviceLabel(x.Spec?.Labels) === s.name))
      .map((s) => ({ name: s.name, dependsOn: [...s.dependsOn] }));
    for (const wave of stopWaves(present)) {
      await Promise.all(
        services
          .filter((s) => wave.includes(serviceLabel(s.Spec?.Labels)))
          .map((s) => this.docker.getService(s.ID).remove().catch(ignoreNotFound)),
      );
    }
    await this.#waitNoContainers(cluster.clusterId);
    await this.docker.getNetwork(cluster.network).remove().catch(ignoreNotFound);
    if (options.volumes) await this.#removeVolumes();
    await removeClusterTrust(trustDir(this.#s.dir)).catch(() => undefined);
    return { clusterId: cluster.clusterId, stopped, volumesRemoved: options.volumes };
  }

  async status(): Promise<ClusterStatus> {
    const cluster = await this.#requireCluster();
    const containers = await this.#taskContainers(cluster.clusterId);
    const addresses = await this.#bridgeAddresses();
    const latest = new Map<string, TaskContainer>();
    for (const c of containers) {
      const seen = latest.get(c.instanceId);
      if (!seen || c.created > seen.created) latest.set(c.instanceId, c);
    }
    const byService = new Map<ServiceName, InstanceStatus[]>();
    const replicas = new Map<ServiceName, number>();
    for (const service of await this.#services(cluster.clusterId)) {
      byService.set(serviceLabel(service.Spec?.Labels), []);
      replicas.set(serviceLabel(service.Spec?.Labels), service.Spec?.Mode?.Replicated?.Replicas ?? 1);
    }
    // Slots above the replica count were scaled away; their last containers are history.
    const current = [...latest.values()].filter(
      (c) => slotOf(c.instanceId) <= (replicas.get(c.service) ?? 1),
    );
    await Promise.all(
      current.map(async (c) => {
        const address = addresses.get(c.id) ?? 'unreachable:0';
        const ready = c.running && !c.paused ? await probeReady(address, 1_000) : false;
        const list = byService.get(c.service) ?? [];
        list.push({
          id: c.instanceId,
          ...this.#state(c, ready),
          address,
          containerId: c.id,
          ...(c.startedAt ? { startedAt: c.startedAt } : {}),
        });
        byService.set(c.service, list);
      }),
    );
    return {
      clusterId: cluster.clusterId,
      runtime: 'swarm',
      createdAt: cluster.createdAt,
      gateway: `http://127.0.0.1:${cluster.gatewayPort}`,
      services: orderedServices(this.#s.specs, byService, (_name, id) => slotOf(id)),
      logs: `docker service logs ${swarmNames.service(cluster.clusterId, '<service>')}`,
    };
  }

  async adminToken(): Promise<string> {
    return this.#adminTokenOf(await this.#requireCluster());
  }

  // --- chaos and operations ---------------------------------------------------------------------

  async kill(service: ServiceName, options: KillOptions = {}): Promise<ServiceStatus> {
    const signal = options.signal ?? 'SIGKILL';
    const targets = await this.#running(service, options.instanceId);
    await Promise.all(
      targets.map(async (c) => {
        this.#killed.set(c.id, signal);
        await this.docker.getContainer(c.id).kill({ signal });
      }),
    );
    return this.#serviceStatus(service);
  }

  /** Swarm replaces tasks, not processes: every task of the service is rolled, one at a time. */
  async restart(service: ServiceName, options: RestartOptions = {}): Promise<ServiceStatus> {
    void options;
    return this.#roll(service);
  }

  async start(service: ServiceName): Promise<ServiceStatus> {
    const status = await this.#serviceStatus(service);
    if (status.instances.length > 0 && status.instances.every((i) => i.state === 'running')) return status;
    return this.#roll(service);
  }

  /** Run exactly `replicas` tasks of a service; resolves when they all answer /readyz. */
  async scale(service: ServiceName, replicas: number): Promise<ServiceStatus> {
    checkReplicas(service, replicas);
    if (this.#spec(service).publicPort !== undefined && replicas > 1)
      throw new RuntimeError('UNSUPPORTED', `${service} publishes its port in host mode: one task per node`);
    const cluster = await this.#requireCluster();
    const swarmService = await this.#service(cluster, service);
    const spec = swarmService.Spec!;
    await this.docker.getService(swarmService.ID).update({
      ...spec,
      version: swarmService.Version!.Index,
      Mode: { Replicated: { Replicas: replicas } },
    });
    if (replicas > 0) await this.#waitReady(cluster, service, replicas, () => undefined);
    // Removed tasks stop gracefully (and deregister) before the answer.
    const deadline = Date.now() + 60_000;
    while (
      Date.now() < deadline &&
      (await this.#taskContainers(cluster.clusterId)).some(
        (c) => c.service === service && c.running && slotOf(c.instanceId) > replicas,
      )
    )
      await new Promise((r) => setTimeout(r, 250));
    return this.#serviceStatus(service);
  }

  async pause(service: ServiceName, options: { instanceId?: string } = {}): Promise<ServiceStatus> {
    for (const c of await this.#running(service, options.instanceId))
      await this.docker.getContainer(c.id).pause();
    return this.#serviceStatus(service);
  }

  async unpause(service: ServiceName, options: { instanceId?: string } = {}): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const paused = (await this.#taskContainers(cluster.clusterId)).filter(
      (c) =>
        c.service === service && c.paused && (!options.instanceId || c.instanceId === options.instanceId),
    );
    for (const c of paused) await this.docker.getContainer(c.id).unpause();
    return this.#serviceStatus(service);
  }

  // --- internals ------------------------------------------------------------------------------

  async #roll(service: ServiceName): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const swarmService = await this.#service(cluster, service);
    const spec = swarmService.Spec!;
    const replicas = spec.Mode?.Replicated?.Replicas ?? 1;
    await this.docker.getService(swarmService.ID).update({
      ...spec,
      version: swarmService.Version!.Index,
      TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate?.ForceUpdate ?? 0) + 1 },
    });
    await this.#waitReady(cluster, service, replicas, () => undefined, undefined, Date.now());
    return this.#serviceStatus(service);
  }

  #state(
    c: TaskContainer,
    ready: boolean,
  ): {
    state: InstanceState;
    health: InstanceStatus['health'];
    signal?: string;
    exitCode?: number;
    paused?: boolean;
  } {
    if (c.running) {
      if (c.paused) return { state: 'running', health: 'unhealthy', paused: true };
      return ready ? { state: 'running', health: 'healthy' } : { state: 'starting', health: 'unhealthy' };
    }
    const signal = this.#killed.get(c.id);
    if (signal) return { state: 'killed', health: 'unknown', signal };
    return {
      state: 'exited',
      health: 'unknown',
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    };
  }

  /** Wait until `replicas` tasks of the service (created after `since`, when given) answer /readyz. */
  async #waitReady(
    cluster: Cluster,
    service: ServiceName,
    replicas: number,
    emit: Emit,
    signal?: AbortSignal,
    since?: number,
  ): Promise<void> {
    const deadline = Date.now() + this.#s.readyTimeoutMs;
    for (;;) {
      if (signal?.aborted) throw new RuntimeError('ABORTED', `start of ${service} was cancelled`);
      const addresses = await this.#bridgeAddresses();
      const live = (await this.#taskContainers(cluster.clusterId)).filter(
        (c) => c.service === service && c.running && (since === undefined || c.created >= since - 1_000),
      );
      const ready = await Promise.all(
        live.map(async (c) => {
          const address = addresses.get(c.id);
          return address !== undefined && (await probeReady(address, 1_000)) ? { c, address } : null;
        }),
      );
      const answered = ready.filter((r) => r !== null);
      if (answered.length >= replicas) {
        // A task can answer before Swarm's DNS knows its name, which it registers as its address:
        // callers would fail (and trip breakers) for a few seconds.
        await Promise.all(answered.map((r) => this.#waitResolvable(r.c.id, deadline)));
        for (const r of answered)
          emit({ type: 'service-healthy', service, instanceId: r.c.instanceId, address: r.address });
        return;
      }
      if (Date.now() >= deadline) {
        const tasks = await this.docker.listTasks({
          filters: { service: [swarmNames.service(cluster.clusterId, service)] },
        });
        const why = (tasks as { Status?: { Err?: string; Message?: string } }[])
          .map((t) => t.Status?.Err ?? t.Status?.Message)
          .filter(Boolean)
          .slice(-3)
          .join('; ');
        const reason = `${answered.length} of ${replicas} task(s) answered /readyz within ${Math.round(this.#s.readyTimeoutMs / 1000)} s${why ? ` (${why})` : ''}`;
        emit({ type: 'service-failed', service, instanceId: `${service}-1`, reason });
        throw new RuntimeError('START_FAILED', `${service} failed to start: ${reason}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Until the task's advertised name resolves on the overlay (asked from inside the task). */
  async #waitResolvable(containerId: string, deadline: number): Promise<void> {
    const probe =
      "require('dns').lookup(process.env.ADVERTISE_ADDRESS.split(':')[0],(e)=>process.exit(e?1:0))";
    while (Date.now() < deadline) {
      const exec = await this.docker.getContainer(containerId).exec({
        Cmd: ['node', '--max-old-space-size=16', '-e', probe],
        AttachStdout: false,
        AttachStderr: false,
      });
      await exec.start({ Detach: true });
      let state = await exec.inspect();
      while (state.Running && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        state = await exec.inspect();
      }
      if (!state.Running && state.ExitCode === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async #running(service: ServiceName, instanceId?: string): Promise<TaskContainer[]> {
    const cluster = await this.#requireCluster();
    const all = (await this.#taskContainers(cluster.clusterId)).filter((c) => c.service === service);
    const running = all.filter((c) => c.running && (!instanceId || c.instanceId === instanceId));
    if (instanceId && running.length === 0)
      throw new RuntimeError('NOT_RUNNING', `${instanceId} is not a running instance of ${service}`);
    return running;
  }

  async #serviceStatus(service: ServiceName): Promise<ServiceStatus> {
    const status = await this.status();
    return status.services.find((s) => s.name === service) ?? { name: service, instances: [] };
  }

  /** Containers of the cluster's tasks on this engine, newest incarnation per slot included. */
  async #taskContainers(clusterId: string): Promise<TaskContainer[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: labelFilter({ [LABEL.cluster]: clusterId, [LABEL.runtime]: 'swarm' }),
    });
    return list.flatMap((c) => {
      const service = c.Labels[LABEL.service] as ServiceName | undefined;
      const task = c.Labels['com.docker.swarm.task.name'];
      const slot = task ? /\.(\d+)\.[^.]+$/.exec(task)?.[1] : undefined;
      if (!service || !slot) return [];
      const exit = /^Exited \((\d+)\)/.exec(c.Status ?? '');
      return [
        {
          id: c.Id,
          service,
          instanceId: `${service}-${slot}`,
          created: c.Created * 1000,
          running: c.State === 'running' || c.State === 'paused',
          paused: c.State === 'paused',
          exitCode: exit ? Number(exit[1]) : undefined,
          startedAt: undefined,
        },
      ];
    });
  }

  /** Container id → host:port on docker_gwbridge, the way this machine reaches a task. */
  async #bridgeAddresses(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    try {
      const bridge = (await this.docker.getNetwork(GWBRIDGE).inspect()) as {
        Containers?: Record<string, { IPv4Address?: string }>;
      };
      for (const [id, endpoint] of Object.entries(bridge.Containers ?? {})) {
        const ip = endpoint.IPv4Address?.split('/')[0];
        if (ip) out.set(id, `${ip}:${SERVICE_PORT}`);
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return out;
  }

  /** Where containers reach this machine (the collector's relay listens there). */
  async #hostAddress(): Promise<string> {
    const bridge = (await this.docker.getNetwork('bridge').inspect()) as {
      IPAM?: { Config?: Array<{ Gateway?: string }> };
    };
    return bridge.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? '172.17.0.1';
  }

  async #services(clusterId: string): Promise<Docker.Service[]> {
    return this.docker.listServices({
      filters: labelFilter({ [LABEL.cluster]: clusterId, [LABEL.runtime]: 'swarm' }),
    });
  }

  async #service(cluster: Cluster, service: ServiceName): Promise<Docker.Service> {
    const found = (await this.#services(cluster.clusterId)).find(
      (s) => serviceLabel(s.Spec?.Labels) === service,
    );
    if (!found)
      throw new RuntimeError('NOT_RUNNING', `${service} is not part of swarm cluster ${cluster.clusterId}`);
    return found;
  }

  #spec(service: string): ServiceSpec {
    const spec = this.#s.specs.find((s) => s.name === service);
    if (!spec)
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `no service "${service}"; the cluster has ${this.#s.specs.map((s) => s.name).join(', ')}`,
      );
    return spec;
  }

  async #adminTokenOf(cluster: Cluster): Promise<string> {
    for (const service of await this.#services(cluster.clusterId)) {
      const template = service.Spec?.TaskTemplate as { ContainerSpec?: { Env?: string[] } } | undefined;
      const line = template?.ContainerSpec?.Env?.find((e) => e.startsWith('ADMIN_TOKEN='));
      if (line) return line.slice('ADMIN_TOKEN='.length);
    }
    throw new RuntimeError(
      'NO_CLUSTER',
      `swarm cluster ${cluster.clusterId} has no services left to read its admin token from`,
    );
  }

  async #findCluster(): Promise<Cluster | null> {
    return findClusterNetwork(this.docker, this.#s.homeHash, 'swarm');
  }

  async #requireCluster(): Promise<Cluster> {
    await this.#requireEngine();
    const cluster = await this.#findCluster();
    if (!cluster)
      throw new RuntimeError(
        'NO_CLUSTER',
        'no swarm cluster is running; start one with `chaoscope up --runtime swarm`',
      );
    return cluster;
  }

  async #createNetwork(clusterId: string, gatewayPort: number): Promise<Cluster> {
    return createClusterNetwork(
      this.docker,
      {
        clusterId,
        name: swarmNames.network(clusterId),
        homeHash: this.#s.homeHash,
        runtime: 'swarm',
        gatewayPort,
      },
      { Driver: 'overlay', Attachable: true },
    );
  }

  async #waitNoContainers(clusterId: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await this.#taskContainers(clusterId)).length === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async #removeVolumes(): Promise<void> {
    await removeOurVolumes(this.docker, { [LABEL.home]: this.#s.homeHash, [LABEL.runtime]: 'swarm' });
  }

  async #requireEngine(): Promise<DockerPreflight> {
    if (!this.#preflight?.reachable)
      this.#preflight = await preflight(this.docker, { env: this.#s.env, specs: this.#s.specs });
    return requireReachable(this.#preflight);
  }

  async #requireManager(): Promise<DockerPreflight> {
    const engine = await this.#requireEngine();
    const info = (await this.docker.info()) as {
      Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
    };
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable)
      throw new RuntimeError(
        'ENGINE_UNAVAILABLE',
        `the Docker engine is not a swarm manager (swarm state: ${info.Swarm?.LocalNodeState ?? 'unknown'}); run \`docker swarm init\` there, or use --runtime docker`,
      );
    return engine;
  }
}

function serviceLabel(labels: Record<string, string> | undefined): ServiceName {
  return (labels?.[LABEL.service] ?? '') as ServiceName;
}

function slotOf(instanceId: string): number {
  return Number(/-(\d+)$/.exec(instanceId)?.[1] ?? 0);
}

/**
 * The docker runtime: the tweet cluster as containers, through dockerode.
 *
 * One bridge network per cluster, one volume per stateful service, one container per instance, all
 * labelled (labels.ts); images built locally (images/build.ts) from the same esbuild bundles the
 * process runtime runs. The engine is the source of truth: a new DockerRuntime on the same home
 * finds the cluster by its labels (adoption), and the only file it keeps is the chaos record
 * (which containers it killed or stopped on purpose, which faults are in force until when).
 *
 * Nothing restarts a container by itself (restart policy `no`): chaos must stay visible. Faults
 * with a duration are undone by a timer here, and, should this process die first, by the next
 * runtime that looks at the cluster (status, up, adopt, down).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { ServiceName, ServiceSpec } from '../../cluster.ts';
import { RuntimeError, isRuntimeError } from '../errors.ts';
import { removeClusterTrust, trustDir } from '../pki.ts';
import { isTerminatingSignal, selectServices, stopWaves } from '../process/plan.ts';
import { probeReady } from '../process/probe.ts';
import { StateLock } from '../process/state.ts';
import type {
  ClusterRuntime,
  ClusterStatus,
  DownOptions,
  DownResult,
  InstanceStatus,
  KillOptions,
  RestartOptions,
  ServiceStatus,
  UpOptions,
} from '../types.ts';
import type { Emit } from './cluster-image.ts';
import { ChaosRecordFile, newFaultId, type ContainerFault, type ContainerFaultKind } from './chaos-record.ts';
import { engineLabel, engineOptions } from './client.ts';
import {
  checkReplicas,
  clusterFacts,
  createClusterNetwork,
  engineSettings,
  findClusterNetwork,
  ignoreNotFound,
  isNotFound,
  isNotModified,
  orderedServices,
  preferredGatewayPort,
  removeOurVolumes,
  requireReachable,
  type ClusterNetwork,
  type EngineRuntimeOptions,
  type EngineSettings,
} from './engine-helpers.ts';
import { LABEL, isOurs, labelFilter, names } from './labels.ts';
import { LogDemuxer, computeStats, type ContainerStats, type LogLine, type RawStats } from './observe.ts';
import { PortHolds } from './port-holds.ts';
import { preflight, type DockerPreflight } from './preflight.ts';
import {
  containerCreateOptions,
  instanceOrdinal,
  networkAliases,
  nextInstanceIds,
  type ClusterFacts,
} from './spec.ts';
import {
  asInspected,
  envValue,
  hostAddress,
  instanceIdOf,
  instanceStatus,
  type InspectedContainer,
} from './status.ts';
import { watchCluster, type ContainerEvent, type WatchHandle } from './watch.ts';

const MiB = 1024 * 1024;

export interface DockerRuntimeOptions extends EngineRuntimeOptions {
  /** Per service. Default 60 s (a 2-core machine starting seven containers at once). */
  readonly readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace for stop, restart and down. Default 10 s. */
  readonly stopTimeoutMs?: number;
}

export interface InstanceTarget {
  /** Default: every instance of the service. */
  readonly instanceId?: string;
}
export interface StopOptions extends InstanceTarget {
  /** Seconds between SIGTERM and SIGKILL. Default: the runtime's stop timeout. */
  readonly graceSeconds?: number;
}
export interface TimedFaultOptions extends InstanceTarget {
  /** Undo automatically after this long; default: until undone (or reset, or down). */
  readonly durationMs?: number;
}
export interface LimitOptions extends TimedFaultOptions {
  /** CPU cores, e.g. 0.25; 0 lifts the limit. */
  readonly cpus?: number;
  readonly memoryMb?: number;
}
export interface LogOptions {
  readonly follow?: boolean;
  /** Last N lines (default 100; with follow, then the new ones). */
  readonly tail?: number;
  readonly signal?: AbortSignal;
}
export interface ClusterSummary {
  readonly clusterId: string;
  /** Made from this runtime's home (so `up`, `status`, `down` here act on it). */
  readonly mine: boolean;
  readonly createdAt?: string;
  readonly gateway?: string;
  readonly containers: number;
  readonly running: number;
}

interface Cluster extends ClusterNetwork {
  /** Hash of the home that made it (labels.ts). */
  readonly home: string;
}

export class DockerRuntime implements ClusterRuntime {
  readonly kind = 'docker' as const;
  readonly home: string;
  readonly docker: Docker;
  readonly #s: EngineSettings;
  readonly #stopTimeoutMs: number;
  readonly #chaos: ChaosRecordFile;
  readonly #claim: StateLock;
  /** Fault id → the timer that undoes it. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Host ports chosen for containers that have not started yet. */
  readonly #holds = new PortHolds();
  /** Container id → the start time of its incarnation that answered /readyz (see deriveState). */
  readonly #answered = new Map<string, string>();
  #preflight: DockerPreflight | undefined;

  constructor(options: DockerRuntimeOptions = {}) {
    this.#s = engineSettings(options, { dirName: 'docker-cluster', readyTimeoutMs: 60_000 });
    this.home = this.#s.home;
    this.docker = this.#s.docker;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.#chaos = new ChaosRecordFile(join(this.#s.dir, 'chaos.json'));
    this.#claim = new StateLock(join(this.#s.dir, 'claim.lock'));
  }

  /** What the engine offers; cached after the first successful answer. */
  async preflight(): Promise<DockerPreflight> {
    if (this.#preflight?.reachable) return this.#preflight;
    this.#preflight = await preflight(this.docker, { env: this.#s.env, specs: this.#s.specs });
    return this.#preflight;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async up(options: UpOptions = {}): Promise<ClusterStatus> {
    const began = Date.now();
    const emit: Emit = (event) => options.onProgress?.({ ...event, elapsedMs: Date.now() - began });
    const wanted = selectServices(this.#s.specs, options);
    const engine = await this.#requireEngine();
    for (const problem of engine.problems) emit({ type: 'note', message: problem });

    const claimed = await this.#claim.run(async () => {
      const existing = await this.#findCluster();
      if (existing) {
        const status = await this.#statusOf(existing);
        const instances = status.services.flatMap((s) => s.instances);
        if (instances.some((i) => i.state === 'running' || i.state === 'starting')) {
          const unwell = instances.filter((i) => i.state !== 'running' || i.health !== 'healthy');
          if (unwell.length > 0) {
            const list = unwell
              .map((i) => `${i.id} ${i.state}${i.state === 'running' ? ` (${i.health})` : ''}`)
              .join(', ');
            throw new RuntimeError(
              'ALREADY_RUNNING',
              `a cluster is already running (${existing.clusterId}) and not all healthy: ${list}; use \`chaoscope down\` first`,
            );
          }
          return { fresh: false, cluster: existing, adminToken: await this.#adminTokenOf(existing) };
        }
        // Nothing of it runs (an engine restart, a reboot): start it afresh on the same data.
        emit({
          type: 'note',
          message: `cluster ${existing.clusterId} has no running containers; recreating them (data kept)`,
        });
        const adminToken = await this.#adminTokenOf(existing).catch(() => newToken());
        await this.#removeContainers(existing.clusterId);
        if (!(await this.#holds.hold(existing.gatewayPort)))
          emit({ type: 'note', message: `port ${existing.gatewayPort} of this cluster's gateway is taken` });
        return { fresh: true, cluster: existing, adminToken };
      }
      const preferred = preferredGatewayPort(options, this.#s.specs);
      const gatewayPort = await this.#holds.holdPreferredOrNext(preferred);
      if (gatewayPort !== preferred)
        emit({ type: 'note', message: `port ${preferred} is busy; the gateway takes ${gatewayPort}` });
      // Data kept by an earlier `down` belongs to this home's cluster id: keep using both.
      const kept = await this.#keptClusterId();
      if (kept) emit({ type: 'note', message: `reusing the data volumes of cluster ${kept}` });
      const cluster = await this.#createNetwork(kept ?? randomBytes(6).toString('hex'), gatewayPort);
      return { fresh: true, cluster, adminToken: newToken() };
    });

    const present = new Set((await this.#containers(claimed.cluster.clusterId)).map(serviceOf));
    const toStart = wanted.filter((s) => !present.has(s.name));
    if (!toStart.some((s) => s.publicPort !== undefined))
      await this.#holds.release(claimed.cluster.gatewayPort);
    try {
      if (toStart.length > 0) {
        const facts = await this.#facts(claimed.cluster, claimed.adminToken, emit);
        await this.#createVolumes(claimed.cluster.clusterId, toStart);
        await this.#startAll(facts, toStart, emit, options.signal);
      }
    } catch (error) {
      // A half-started fresh cluster is worse than none; its volumes stay for the post-mortem.
      if (claimed.fresh) await this.down({ volumes: false }).catch(() => undefined);
      throw error;
    } finally {
      await this.#holds.releaseAll();
    }
    return this.status();
  }

  async down(options: DownOptions): Promise<DownResult> {
    await this.#requireEngine();
    const cluster = await this.#findCluster();
    if (!cluster) {
      if (options.volumes) await removeOurVolumes(this.docker, { [LABEL.home]: this.#s.homeHash });
      return { clusterId: null, stopped: [], volumesRemoved: options.volumes };
    }
    return this.#teardown(cluster, options.volumes);
  }

  async status(): Promise<ClusterStatus> {
    const cluster = await this.#requireCluster();
    await this.#rollbackExpired(cluster);
    return this.#statusOf(cluster);
  }

  async adminToken(): Promise<string> {
    return this.#adminTokenOf(await this.#requireCluster());
  }

  /**
   * A runtime made after a restart of the control plane: find the cluster this home made, undo
   * faults whose time is up, and take over the timers of the others. null when there is none.
   */
  async adopt(): Promise<ClusterStatus | null> {
    if (!(await this.preflight()).reachable) return null;
    const cluster = await this.#findCluster();
    if (!cluster) return null;
    await this.#rollbackExpired(cluster);
    const record = await this.#chaos.read(cluster.clusterId);
    for (const fault of record.faults) this.#arm(cluster, fault);
    return this.#statusOf(cluster);
  }

  /** Every Chaoscope docker cluster on the engine, this home's and others' (found by labels). */
  async listClusters(): Promise<ClusterSummary[]> {
    await this.#requireEngine();
    const networks = await this.docker.listNetworks({
      filters: labelFilter({ [LABEL.cluster]: undefined, [LABEL.runtime]: 'docker' }),
    });
    return Promise.all(
      networks.map(async (n) => {
        const labels = n.Labels ?? {};
        const clusterId = labels[LABEL.cluster]!;
        const containers = await this.#listContainers(clusterId);
        return {
          clusterId,
          mine: labels[LABEL.home] === this.#s.homeHash,
          ...(labels[LABEL.createdAt] ? { createdAt: labels[LABEL.createdAt] } : {}),
          ...(labels[LABEL.gateway] ? { gateway: labels[LABEL.gateway] } : {}),
          containers: containers.length,
          running: containers.filter((c) => c.State === 'running' || c.State === 'paused').length,
        };
      }),
    );
  }

  /** Clean up a cluster by id, whichever home made it (an orphan the user chose to remove). */
  async removeCluster(clusterId: string, options: DownOptions): Promise<DownResult> {
    await this.#requireEngine();
    const networks = await this.docker.listNetworks({ filters: labelFilter({ [LABEL.cluster]: clusterId }) });
    const network = networks.find((n) => isOurs(n.Labels, clusterId));
    const cluster: Cluster = {
      clusterId,
      network: network?.Name ?? names.network(clusterId),
      home: network?.Labels?.[LABEL.home] ?? '',
      createdAt: network?.Labels?.[LABEL.createdAt] ?? '',
      gatewayPort: 0,
    };
    return this.#teardown(cluster, options.volumes);
  }

  // --- ClusterRuntime chaos verbs ---------------------------------------------------------------

  async kill(service: ServiceName, options: KillOptions = {}): Promise<ServiceStatus> {
    const signal = options.signal ?? 'SIGKILL';
    const cluster = await this.#requireCluster();
    const targets = await this.#aliveTargets(cluster, service, options.instanceId, 'kill');
    const terminating = isTerminatingSignal(signal);
    if (terminating) await this.#mark(cluster, targets, { kind: 'killed', signal });
    await Promise.all(
      targets.map(async (c) => {
        const container = this.docker.getContainer(c.Id);
        // The engine refuses to signal a frozen container; thaw it first (its pause fault ends here).
        if (c.State?.Paused)
          await this.#undoFaults(cluster, (f) => f.containerId === c.Id && f.kind === 'pause');
        await container.kill({ signal });
        if (terminating)
          await this.#waitNotRunning(c.Id, signal === 'SIGKILL' ? 10_000 : this.#stopTimeoutMs + 5_000);
      }),
    );
    return this.#serviceStatus(cluster, service);
  }

  /** Stop gracefully: SIGTERM, then SIGKILL after the grace period. It stays down until started. */
  async stop(service: ServiceName, options: StopOptions = {}): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const targets = await this.#aliveTargets(cluster, service, options.instanceId, 'stop');
    await this.#mark(cluster, targets, { kind: 'stopped' });
    const grace = options.graceSeconds ?? Math.round(this.#stopTimeoutMs / 1000);
    await Promise.all(targets.map((c) => this.#stopContainer(c, grace)));
    return this.#serviceStatus(cluster, service);
  }

  async restart(service: ServiceName, options: RestartOptions = {}): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const targets = await this.#targets(cluster, service, options.instanceId);
    // A restart is a fresh start: the instance's faults end with it.
    const ids = new Set(targets.map((c) => c.Id));
    await this.#undoFaults(cluster, (f) => ids.has(f.containerId));
    const grace = Math.round(this.#stopTimeoutMs / 1000);
    await Promise.all(
      targets.map(async (c) => {
        await this.docker.getContainer(c.Id).restart({ t: grace });
        await this.#waitReady(c.Id, service, instanceIdOf(c), () => undefined);
      }),
    );
    return this.#serviceStatus(cluster, service);
  }

  async start(service: ServiceName): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const all = await this.#inspectService(cluster, service);
    if (all.length === 0) {
      const spec = this.#spec(service);
      const facts = await this.#facts(cluster, await this.#adminTokenOf(cluster), () => undefined);
      await this.#createVolumes(cluster.clusterId, [spec]);
      await this.#startAll(facts, [spec], () => undefined);
      return this.#serviceStatus(cluster, service);
    }
    await Promise.all(
      all.map(async (c) => {
        if (c.State?.Paused)
          await this.#undoFaults(cluster, (f) => f.containerId === c.Id && f.kind === 'pause');
        else if (!isAlive(c)) await this.docker.getContainer(c.Id).start();
        else return;
        await this.#waitReady(c.Id, service, instanceIdOf(c), () => undefined);
      }),
    );
    return this.#serviceStatus(cluster, service);
  }

  // --- container chaos beyond the interface -----------------------------------------------------

  /** Freeze (cgroup freezer): the process keeps its memory and sockets but answers nothing. */
  async pause(service: ServiceName, options: TimedFaultOptions = {}): Promise<ServiceStatus> {
    return this.#applyFault(service, 'pause', options, async (c) => {
      if (c.State?.Paused) return false;
      await this.docker.getContainer(c.Id).pause();
      return true;
    });
  }

  async unpause(service: ServiceName, options: InstanceTarget = {}): Promise<ServiceStatus> {
    return this.#endFaults(service, 'pause', options);
  }

  /** Cut the instance off the cluster network (and so from the host's published port). */
  async partition(service: ServiceName, options: TimedFaultOptions = {}): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    return this.#applyFault(service, 'partition', options, async (c) => {
      if (!c.NetworkSettings?.Networks?.[cluster.network]) return false;
      await this.docker.getNetwork(cluster.network).disconnect({ Container: c.Id, Force: true });
      return true;
    });
  }

  /** Reconnect partitioned instances. */
  async heal(service: ServiceName, options: InstanceTarget = {}): Promise<ServiceStatus> {
    return this.#endFaults(service, 'partition', options);
  }

  /** Change CPU and memory limits of running containers live (`docker update`). */
  async setLimits(service: ServiceName, options: LimitOptions): Promise<ServiceStatus> {
    if (options.cpus === undefined && options.memoryMb === undefined)
      throw new RuntimeError('UNSUPPORTED', 'give cpus, memoryMb or both');
    if (options.cpus !== undefined && !(options.cpus >= 0 && options.cpus <= 64))
      throw new RuntimeError('UNSUPPORTED', `cpus must be between 0 and 64, got ${options.cpus}`);
    if (options.memoryMb !== undefined && !(Number.isInteger(options.memoryMb) && options.memoryMb >= 16))
      throw new RuntimeError(
        'UNSUPPORTED',
        `memoryMb must be a whole number of at least 16, got ${options.memoryMb}`,
      );
    return this.#applyFault(
      service,
      'limits',
      options,
      async (c) => {
        await this.docker
          .getContainer(c.Id)
          .update(limitUpdate(options.memoryMb, options.cpus, await this.#engineCpus()));
        return true;
      },
      (c) => ({ memoryBytes: c.HostConfig?.Memory ?? 0, nanoCpus: c.HostConfig?.NanoCpus ?? 0 }),
    );
  }

  /** Put limits back as the cluster spec has them. */
  async resetLimits(service: ServiceName, options: InstanceTarget = {}): Promise<ServiceStatus> {
    return this.#endFaults(service, 'limits', options);
  }

  /**
   * Run exactly `replicas` containers of a service. New ones register with the registry (the
   * gateway balances over them); removed ones are stopped gracefully first, so they deregister.
   */
  async scale(service: ServiceName, replicas: number): Promise<ServiceStatus> {
    checkReplicas(service, replicas);
    const cluster = await this.#requireCluster();
    const spec = this.#spec(service);
    const current = (await this.#inspectService(cluster, service)).sort(byOrdinal(service));
    if (replicas > current.length) {
      const facts = await this.#facts(cluster, await this.#adminTokenOf(cluster), () => undefined);
      await this.#createVolumes(cluster.clusterId, [spec]);
      const ids = nextInstanceIds(service, current.map(instanceIdOf), replicas - current.length);
      const ports = await this.#freePorts(cluster, ids.length);
      try {
        await Promise.all(
          ids.map((instanceId, i) =>
            this.#launch(facts, { spec, instanceId, hostPort: ports[i]! }, () => undefined),
          ),
        );
      } finally {
        await Promise.all(ports.map((port) => this.#holds.release(port)));
      }
    } else if (replicas < current.length) {
      const surplus = current.slice(replicas);
      const ids = new Set(surplus.map((c) => c.Id));
      await this.#undoFaults(cluster, (f) => ids.has(f.containerId));
      const grace = Math.round(this.#stopTimeoutMs / 1000);
      await Promise.all(
        surplus.map(async (c) => {
          await this.#stopContainer(c, grace);
          await this.docker.getContainer(c.Id).remove({ force: true, v: false });
        }),
      );
      await this.#chaos.update(cluster.clusterId, (r) => {
        for (const id of ids) delete r.marks[id];
      });
    }
    return this.#serviceStatus(cluster, service);
  }

  /** Faults in force on containers (pause, partition, limits), with their end times. */
  async faults(): Promise<ContainerFault[]> {
    const cluster = await this.#requireCluster();
    await this.#rollbackExpired(cluster);
    return (await this.#chaos.read(cluster.clusterId)).faults;
  }

  /**
   * Undo every container fault: the recorded ones, and also any paused or disconnected container of
   * ours that has no record (a record lost with a crash must not leave a fault behind).
   */
  async resetFaults(): Promise<number> {
    const cluster = await this.#requireCluster();
    return this.#resetFaults(cluster);
  }

  /**
   * Kernel netem (latency, loss) on a container's interface. Only where the preflight found netem;
   * elsewhere the service kit's fault layer (POST /admin/faults on the service) does the job.
   */
  async netem(service: ServiceName): Promise<never> {
    const engine = await this.preflight();
    if (engine.netem.available !== true)
      throw new RuntimeError(
        'UNSUPPORTED',
        `kernel netem is not available here (${engine.netem.detail}); inject latency or loss into ${service} with the service kit's fault layer instead (POST /admin/faults)`,
      );
    throw new RuntimeError(
      'UNSUPPORTED',
      'netem is present, but no helper image with tc can be built without a registry; use the service kit fault layer (POST /admin/faults)',
    );
  }

  // --- observing ------------------------------------------------------------------------------

  /** Instance state changes as the engine reports them (see watch.ts). */
  async watch(
    onEvent: (event: ContainerEvent) => void,
    onError?: (error: Error) => void,
  ): Promise<WatchHandle> {
    const cluster = await this.#requireCluster();
    const byId = new Map<string, { service: ServiceName; instanceId: string }>();
    return watchCluster({
      docker: this.docker,
      clusterId: cluster.clusterId,
      network: cluster.network,
      identify: async (id) => {
        const known = byId.get(id);
        if (known) return known;
        const c = await this.#inspect(id);
        if (!c || !isOurs(c.Config?.Labels ?? undefined, cluster.clusterId)) return null;
        const who = { service: serviceOf(c), instanceId: instanceIdOf(c) };
        byId.set(id, who);
        return who;
      },
      describe: async (id) => {
        const c = await this.#inspect(id);
        if (!c) return undefined;
        const record = await this.#chaos.read(cluster.clusterId);
        const mark = record.marks[c.Id];
        return instanceStatus(c, {
          network: cluster.network,
          wasReady: this.#wasReady(c),
          ...(mark ? { mark } : {}),
        });
      },
      onEvent,
      ...(onError ? { onError } : {}),
    });
  }

  /** Log lines of one instance (`timeline-1`) or of every instance of a service (`timeline`). */
  async *logs(target: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const cluster = await this.#requireCluster();
    const containers = (await this.#inspectAll(cluster)).filter(
      (c) => instanceIdOf(c) === target || serviceOf(c) === target,
    );
    if (containers.length === 0)
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `no instance or service "${target}" in cluster ${cluster.clusterId}`,
      );
    const queue = new AsyncQueue<LogLine>();
    let open = containers.length;
    for (const c of containers) {
      void this.#pipeLogs(c, options, queue).finally(() => {
        if (--open === 0) queue.end();
      });
    }
    yield* queue;
  }

  /** CPU, memory and network of every running container (or one service's). */
  async stats(service?: ServiceName): Promise<ContainerStats[]> {
    const cluster = await this.#requireCluster();
    const running = (await this.#inspectAll(cluster)).filter(
      (c) => c.State?.Running && (service === undefined || serviceOf(c) === service),
    );
    return Promise.all(
      running.map(async (c) =>
        computeStats(
          instanceIdOf(c),
          (await this.docker.getContainer(c.Id).stats({ stream: false })) as unknown as RawStats,
        ),
      ),
    );
  }

  /** Stop the timers of this object (faults stay recorded; the next runtime undoes them in time). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  // --- starting -------------------------------------------------------------------------------

  async #facts(cluster: Cluster, adminToken: string, emit: Emit): Promise<ClusterFacts> {
    return clusterFacts(this.#s, await this.#requireEngine(), cluster, adminToken, emit);
  }

  async #startAll(
    facts: ClusterFacts,
    specs: readonly ServiceSpec[],
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<void> {
    const cluster: Cluster = {
      clusterId: facts.clusterId,
      network: facts.network,
      home: this.#s.homeHash,
      createdAt: '',
      gatewayPort: facts.gatewayPort,
    };
    const others = specs.filter((s) => s.publicPort === undefined);
    const ports = await this.#freePorts(cluster, others.length);
    const hostPort = new Map(others.map((s, i) => [s.name, ports[i]!]));
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) abort.abort();
    try {
      const running = new Map<ServiceName, Promise<void>>();
      for (const spec of specs) {
        const dependencies = spec.dependsOn.flatMap((d) => running.get(d) ?? []);
        const started = Promise.all(dependencies).then(async () => {
          if (abort.signal.aborted) throw new RuntimeError('ABORTED', `start of ${spec.name} was cancelled`);
          const port = spec.publicPort !== undefined ? facts.gatewayPort : hostPort.get(spec.name)!;
          await this.#launch(
            facts,
            { spec, instanceId: `${spec.name}-1`, hostPort: port },
            emit,
            abort.signal,
          );
        });
        started.catch(() => abort.abort());
        running.set(spec.name, started);
      }
      const results = await Promise.allSettled(running.values());
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      const first = failures.find((e) => !isRuntimeError(e, 'ABORTED')) ?? failures[0];
      if (first !== undefined) throw first instanceof Error ? first : new Error('a service failed to start');
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await Promise.all(ports.map((port) => this.#holds.release(port)));
    }
  }

  async #launch(
    facts: ClusterFacts,
    plan: { spec: ServiceSpec; instanceId: string; hostPort: number },
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<void> {
    const created = await this.docker.createContainer(containerCreateOptions(facts, plan));
    // The engine binds the published port now: let go of our hold on it just before.
    await this.#holds.release(plan.hostPort);
    await created.start();
    const address = `127.0.0.1:${plan.hostPort}`;
    emit({ type: 'service-starting', service: plan.spec.name, instanceId: plan.instanceId, address });
    await this.#waitReady(created.id, plan.spec.name, plan.instanceId, emit, signal);
  }

  /** Poll /readyz through the published port until 200, the container dies, or time runs out. */
  async #waitReady(
    containerId: string,
    service: ServiceName,
    instanceId: string,
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + this.#s.readyTimeoutMs;
    let address: string | undefined;
    let startedAt = '';
    let checks = 0;
    for (;;) {
      if (signal?.aborted) throw new RuntimeError('ABORTED', `start of ${service} was cancelled`);
      // Inspect now and then (not on every probe): it is the engine, not the service, that we ask.
      if (address === undefined || checks++ % 5 === 0) {
        const c = await this.#inspect(containerId);
        if (!c || !isAlive(c)) {
          const reason = c
            ? `exited with code ${c.State?.ExitCode ?? '?'}${c.State?.OOMKilled ? ' (out of memory)' : ''} before answering /readyz`
            : 'was removed';
          emit({ type: 'service-failed', service, instanceId, reason });
          throw new RuntimeError('START_FAILED', `${service} failed to start: it ${reason}`, {
            details: await this.#logTail(containerId, instanceId),
          });
        }
        address ??= hostAddress(c, '');
        startedAt = c.State?.StartedAt ?? '';
      }
      if (await probeReady(address, 1_000)) {
        this.#answered.set(containerId, startedAt);
        emit({ type: 'service-healthy', service, instanceId, address });
        return;
      }
      if (Date.now() >= deadline) {
        const reason = `did not answer /readyz with 200 within ${Math.round(this.#s.readyTimeoutMs / 1000)} s on ${address}`;
        emit({ type: 'service-failed', service, instanceId, reason });
        throw new RuntimeError('START_FAILED', `${service} failed to start: it ${reason}`, {
          details: await this.#logTail(containerId, instanceId),
        });
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async #logTail(containerId: string, instanceId: string): Promise<string[]> {
    try {
      const raw = await this.docker.getContainer(containerId).logs({
        stdout: true,
        stderr: true,
        tail: 15,
        follow: false,
      });
      const demux = new LogDemuxer(instanceId);
      const lines = [...demux.push(raw), ...demux.flush()].map((l) => `  ${l.text}`);
      return lines.length > 0 ? [`last lines of ${instanceId}:`, ...lines] : [`${instanceId} wrote no log`];
    } catch {
      return [];
    }
  }

  // --- stopping -------------------------------------------------------------------------------

  async #teardown(cluster: Cluster, volumes: boolean): Promise<DownResult> {
    // Faults first: a paused container cannot even be stopped, and none may outlive `down`.
    await this.#resetFaults(cluster).catch(() => undefined);
    const containers = await this.#inspectAll(cluster);
    const stopped: string[] = [];
    const bySpec = this.#s.specs.filter((s) => containers.some((c) => serviceOf(c) === s.name));
    const grace = Math.round(this.#stopTimeoutMs / 1000);
    for (const wave of stopWaves(bySpec.map((s) => ({ name: s.name, dependsOn: [...s.dependsOn] })))) {
      await Promise.all(
        containers
          .filter((c) => wave.includes(serviceOf(c)) && isAlive(c))
          .map(async (c) => {
            await this.#stopContainer(c, grace);
            stopped.push(instanceIdOf(c));
          }),
      );
    }
    // Containers of services no longer in the spec are ours too (by label): they go as well.
    for (const c of containers.filter((x) => isAlive(x) && !stopped.includes(instanceIdOf(x)))) {
      await this.#stopContainer(c, grace);
      stopped.push(instanceIdOf(c));
    }
    await this.#removeContainers(cluster.clusterId);
    await this.docker
      .getNetwork(cluster.network)
      .remove()
      .catch((error: unknown) => {
        // Someone else's container still attached: we never detach what is not ours.
        if (!isNotFound(error)) throw error;
      });
    if (volumes) await removeOurVolumes(this.docker, { [LABEL.cluster]: cluster.clusterId });
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#chaos.remove();
    // The CA belongs to this cluster run (as in the process runtime); the next `up` makes a new one.
    if (cluster.home === this.#s.homeHash) await removeClusterTrust(trustDir(this.#s.dir));
    return { clusterId: cluster.clusterId, stopped, volumesRemoved: volumes };
  }

  async #stopContainer(c: InspectedContainer, graceSeconds: number): Promise<void> {
    if (c.State?.Paused)
      await this.docker
        .getContainer(c.Id)
        .unpause()
        .catch(() => undefined);
    await this.docker
      .getContainer(c.Id)
      .stop({ t: graceSeconds })
      .catch((error: unknown) => {
        // 304: already stopped; 404: already gone. Either way it is down.
        if (!isNotModified(error) && !isNotFound(error)) throw error;
      });
  }

  async #removeContainers(clusterId: string): Promise<void> {
    const containers = await this.#listContainers(clusterId);
    await Promise.all(
      containers
        .filter((c) => isOurs(c.Labels, clusterId))
        .map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: false }).catch(ignoreNotFound)),
    );
  }

  async #waitNotRunning(containerId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const c = await this.#inspect(containerId);
      if (!c || !isAlive(c)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // --- faults ---------------------------------------------------------------------------------

  async #applyFault(
    service: ServiceName,
    kind: ContainerFaultKind,
    options: TimedFaultOptions,
    apply: (c: InspectedContainer) => Promise<boolean>,
    previous?: (c: InspectedContainer) => ContainerFault['previous'],
  ): Promise<ServiceStatus> {
    if (options.durationMs !== undefined && !(options.durationMs > 0 && options.durationMs <= 24 * 3_600_000))
      throw new RuntimeError(
        'UNSUPPORTED',
        `durationMs must be between 1 and 86400000, got ${options.durationMs}`,
      );
    const cluster = await this.#requireCluster();
    const targets = (await this.#targets(cluster, service, options.instanceId)).filter(
      (c) => c.State?.Running,
    );
    if (targets.length === 0)
      throw new RuntimeError('NOT_RUNNING', `${options.instanceId ?? service} is not running`);
    const now = Date.now();
    const until = options.durationMs !== undefined ? new Date(now + options.durationMs).toISOString() : null;
    for (const c of targets) {
      const existing = (await this.#chaos.read(cluster.clusterId)).faults.find(
        (f) => f.containerId === c.Id && f.kind === kind,
      );
      const keep = existing?.previous ?? previous?.(c);
      if (!(await apply(c)) && !existing) continue;
      const fault: ContainerFault = {
        id: existing?.id ?? newFaultId(),
        kind,
        service,
        instanceId: instanceIdOf(c),
        containerId: c.Id,
        since: existing?.since ?? new Date(now).toISOString(),
        until,
        ...(keep ? { previous: keep } : {}),
      };
      await this.#chaos.update(cluster.clusterId, (r) => {
        r.faults = [...r.faults.filter((f) => f.id !== fault.id), fault];
      });
      this.#arm(cluster, fault);
    }
    return this.#serviceStatus(cluster, service);
  }

  async #endFaults(
    service: ServiceName,
    kind: ContainerFaultKind,
    options: InstanceTarget,
  ): Promise<ServiceStatus> {
    const cluster = await this.#requireCluster();
    const targets = await this.#targets(cluster, service, options.instanceId);
    const ids = new Set(targets.map((c) => c.Id));
    await this.#undoFaults(cluster, (f) => f.kind === kind && ids.has(f.containerId));
    // Also what has no record (set by hand, or a record lost): the user asked for it to end.
    for (const c of await this.#targets(cluster, service, options.instanceId)) {
      await this.#rollback(cluster, { kind, containerId: c.Id, instanceId: instanceIdOf(c), service }).catch(
        () => undefined,
      );
    }
    return this.#serviceStatus(cluster, service);
  }

  /** Schedule the end of a timed fault in this process. */
  #arm(cluster: Cluster, fault: ContainerFault): void {
    const previous = this.#timers.get(fault.id);
    if (previous) clearTimeout(previous);
    this.#timers.delete(fault.id);
    if (fault.until === null) return;
    const delay = Math.max(0, Date.parse(fault.until) - Date.now());
    this.#timers.set(
      fault.id,
      setTimeout(() => {
        this.#timers.delete(fault.id);
        void this.#undoFaults(cluster, (f) => f.id === fault.id).catch(() => undefined);
      }, delay),
    );
  }

  async #rollbackExpired(cluster: Cluster): Promise<void> {
    const record = await this.#chaos.read(cluster.clusterId);
    const now = Date.now();
    if (record.faults.some((f) => f.until !== null && Date.parse(f.until) <= now))
      await this.#undoFaults(cluster, (f) => f.until !== null && Date.parse(f.until) <= now);
  }

  async #undoFaults(cluster: Cluster, which: (fault: ContainerFault) => boolean): Promise<number> {
    const record = await this.#chaos.read(cluster.clusterId);
    const chosen = record.faults.filter(which);
    for (const fault of chosen) {
      const timer = this.#timers.get(fault.id);
      if (timer) clearTimeout(timer);
      this.#timers.delete(fault.id);
      await this.#rollback(cluster, fault);
    }
    if (chosen.length > 0) {
      const done = new Set(chosen.map((f) => f.id));
      await this.#chaos.update(cluster.clusterId, (r) => {
        r.faults = r.faults.filter((f) => !done.has(f.id));
      });
    }
    return chosen.length;
  }

  async #rollback(
    cluster: Cluster,
    fault: Pick<ContainerFault, 'kind' | 'containerId' | 'instanceId' | 'service'> &
      Partial<Pick<ContainerFault, 'previous'>>,
  ): Promise<void> {
    const c = await this.#inspect(fault.containerId);
    if (!c) return; // gone: nothing left to undo
    const container = this.docker.getContainer(c.Id);
    if (fault.kind === 'pause') {
      if (c.State?.Paused) await container.unpause();
    } else if (fault.kind === 'partition') {
      if (!c.NetworkSettings?.Networks?.[cluster.network])
        await this.docker.getNetwork(cluster.network).connect({
          Container: c.Id,
          EndpointConfig: {
            Aliases: networkAliases({ instanceId: fault.instanceId, spec: { name: fault.service } }),
          },
        });
    } else {
      const spec = this.#s.specs.find((s) => s.name === fault.service);
      const memory = fault.previous?.memoryBytes || (spec ? spec.memoryMb * MiB : 0);
      const update = limitUpdate(
        memory ? memory / MiB : undefined,
        (fault.previous?.nanoCpus ?? 0) / 1e9,
        await this.#engineCpus(),
      );
      if (c.State?.Running || c.State?.Paused) await container.update(update);
    }
  }

  async #resetFaults(cluster: Cluster): Promise<number> {
    const undone = await this.#undoFaults(cluster, () => true);
    let extra = 0;
    for (const c of await this.#inspectAll(cluster)) {
      if (c.State?.Paused) {
        await this.docker
          .getContainer(c.Id)
          .unpause()
          .catch(() => undefined);
        extra++;
      }
      if (c.State?.Running && !c.NetworkSettings?.Networks?.[cluster.network]) {
        await this.#rollback(cluster, {
          kind: 'partition',
          containerId: c.Id,
          instanceId: instanceIdOf(c),
          service: serviceOf(c),
        }).catch(() => undefined);
        extra++;
      }
    }
    return undone + extra;
  }

  async #mark(
    cluster: Cluster,
    targets: readonly InspectedContainer[],
    mark: { kind: 'killed' | 'stopped'; signal?: string },
  ): Promise<void> {
    const at = new Date().toISOString();
    await this.#chaos.update(cluster.clusterId, (r) => {
      for (const c of targets) r.marks[c.Id] = { ...mark, at, incarnation: c.State?.StartedAt ?? '' };
    });
  }

  // --- finding things -------------------------------------------------------------------------

  async #engineCpus(): Promise<number> {
    return (await this.preflight()).cpus ?? 1;
  }

  async #requireEngine(): Promise<DockerPreflight> {
    return requireReachable(await this.preflight());
  }

  async #findCluster(): Promise<Cluster | null> {
    const found = await findClusterNetwork(this.docker, this.#s.homeHash, 'docker');
    return found && { ...found, home: this.#s.homeHash };
  }

  /** The cluster id on this home's volumes, when a `down` kept them. */
  async #keptClusterId(): Promise<string | null> {
    const { Volumes } = await this.docker.listVolumes({
      filters: labelFilter({ [LABEL.home]: this.#s.homeHash, [LABEL.runtime]: 'docker' }),
    });
    const ids = (Volumes ?? []).map((v) => v.Labels?.[LABEL.cluster]).filter((id): id is string => !!id);
    return ids[0] ?? null;
  }

  /**
   * The cluster, or NO_CLUSTER; also NO_CLUSTER when no engine answers (there is then no docker
   * cluster to act on), so a caller that looks for a cluster in every runtime moves on.
   */
  async #requireCluster(): Promise<Cluster> {
    const engine = await this.preflight();
    if (!engine.reachable)
      throw new RuntimeError(
        'NO_CLUSTER',
        `no docker cluster: ${engine.reason ?? 'no Docker engine answers'}`,
      );
    const cluster = await this.#findCluster();
    if (!cluster)
      throw new RuntimeError(
        'NO_CLUSTER',
        `no docker cluster of this home is running on ${engineLabel(engineOptions(this.#s.env))}; start one with \`chaoscope up --runtime docker\``,
      );
    return cluster;
  }

  async #createNetwork(clusterId: string, gatewayPort: number): Promise<Cluster> {
    const created = await createClusterNetwork(
      this.docker,
      {
        clusterId,
        name: names.network(clusterId),
        homeHash: this.#s.homeHash,
        runtime: 'docker',
        gatewayPort,
      },
      { Driver: 'bridge', CheckDuplicate: true },
    );
    return { ...created, home: this.#s.homeHash };
  }

  async #createVolumes(clusterId: string, specs: readonly ServiceSpec[]): Promise<void> {
    for (const spec of specs.filter((s) => s.stateful)) {
      const name = names.volume(clusterId, spec.name);
      const existing = await this.docker
        .getVolume(name)
        .inspect()
        .catch(() => null);
      if (existing) {
        if (!isOurs(existing.Labels, clusterId))
          throw new RuntimeError(
            'START_FAILED',
            `volume ${name} exists but is not this cluster's; remove or rename it`,
          );
        continue;
      }
      await this.docker.createVolume({
        Name: name,
        Labels: {
          [LABEL.cluster]: clusterId,
          [LABEL.service]: spec.name,
          [LABEL.home]: this.#s.homeHash,
          [LABEL.runtime]: 'docker',
        },
      });
    }
  }

  async #freePorts(cluster: Cluster, count: number): Promise<number[]> {
    const used = new Set<number>([cluster.gatewayPort]);
    for (const c of await this.#inspectAll(cluster)) {
      const port = Number(hostAddress(c, cluster.network).split(':')[1]);
      if (port) used.add(port);
    }
    return this.#holds.holdAny(count, used);
  }

  async #listContainers(clusterId: string): Promise<Docker.ContainerInfo[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: labelFilter({ [LABEL.cluster]: clusterId }),
    });
    return list.filter((c) => isOurs(c.Labels, clusterId));
  }

  async #containers(clusterId: string): Promise<InspectedContainer[]> {
    const list = await this.#listContainers(clusterId);
    const inspected = await Promise.all(list.map((c) => this.#inspect(c.Id)));
    return inspected.filter(
      (c): c is InspectedContainer => c !== null && isOurs(c.Config?.Labels ?? undefined, clusterId),
    );
  }

  async #inspectAll(cluster: Cluster): Promise<InspectedContainer[]> {
    return this.#containers(cluster.clusterId);
  }

  async #inspectService(cluster: Cluster, service: ServiceName): Promise<InspectedContainer[]> {
    return (await this.#inspectAll(cluster)).filter((c) => serviceOf(c) === service);
  }

  async #inspect(id: string): Promise<InspectedContainer | null> {
    try {
      return asInspected(await this.docker.getContainer(id).inspect());
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #targets(cluster: Cluster, service: ServiceName, instanceId?: string): Promise<InspectedContainer[]> {
    const all = await this.#inspectService(cluster, service);
    if (all.length === 0) {
      this.#spec(service);
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `service "${service}" is not part of cluster ${cluster.clusterId}`,
      );
    }
    if (instanceId === undefined) return all.sort(byOrdinal(service));
    const one = all.filter((c) => instanceIdOf(c) === instanceId);
    if (one.length === 0)
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `${service} has no instance "${instanceId}"; it has ${all.map(instanceIdOf).join(', ')}`,
      );
    return one;
  }

  /** The live instances among the targets, or NOT_RUNNING: there is nothing to `verb`. */
  async #aliveTargets(
    cluster: Cluster,
    service: ServiceName,
    instanceId: string | undefined,
    verb: string,
  ): Promise<InspectedContainer[]> {
    const alive = (await this.#targets(cluster, service, instanceId)).filter(isAlive);
    if (alive.length === 0)
      throw new RuntimeError('NOT_RUNNING', `${instanceId ?? service} is not running; nothing to ${verb}`);
    return alive;
  }

  #spec(service: string): ServiceSpec {
    const spec = this.#s.specs.find((s) => s.name === service);
    if (!spec)
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `unknown service "${service}"; valid: ${this.#s.specs.map((s) => s.name).join(', ')}`,
      );
    return spec;
  }

  async #adminTokenOf(cluster: Cluster): Promise<string> {
    for (const c of await this.#inspectAll(cluster)) {
      const token = envValue(c, 'ADMIN_TOKEN');
      if (token) return token;
    }
    throw new RuntimeError(
      'NO_CLUSTER',
      `cluster ${cluster.clusterId} has no containers left to read its admin token from`,
    );
  }

  #wasReady(c: InspectedContainer): boolean {
    const answered = this.#answered.get(c.Id);
    return answered !== undefined && answered === (c.State?.StartedAt ?? '');
  }

  async #statusOf(cluster: Cluster): Promise<ClusterStatus> {
    const containers = await this.#inspectAll(cluster);
    const record = await this.#chaos.read(cluster.clusterId);
    const services = new Map<ServiceName, InstanceStatus[]>();
    await Promise.all(
      containers.map(async (c) => {
        const alive = c.State?.Running && !c.State.Paused;
        const ready = alive ? await probeReady(hostAddress(c, cluster.network), 1_000) : undefined;
        const mark = record.marks[c.Id];
        if (ready) this.#answered.set(c.Id, c.State?.StartedAt ?? '');
        const status = instanceStatus(c, {
          network: cluster.network,
          wasReady: this.#wasReady(c),
          ...(mark ? { mark } : {}),
          ...(ready !== undefined ? { ready } : {}),
        });
        const list = services.get(serviceOf(c)) ?? [];
        list.push(status);
        services.set(serviceOf(c), list);
      }),
    );
    return {
      clusterId: cluster.clusterId,
      runtime: 'docker',
      createdAt: cluster.createdAt,
      gateway: `http://127.0.0.1:${cluster.gatewayPort}`,
      services: orderedServices(this.#s.specs, services, (name, id) => instanceOrdinal(name, id) ?? 0),
      logs: `docker logs <container> (containers are named chaoscope-${cluster.clusterId}-<instance>)`,
    };
  }

  async #serviceStatus(cluster: Cluster, service: ServiceName): Promise<ServiceStatus> {
    const status = await this.#statusOf(cluster);
    return status.services.find((s) => s.name === service) ?? { name: service, instances: [] };
  }

  async #pipeLogs(c: InspectedContainer, options: LogOptions, queue: AsyncQueue<LogLine>): Promise<void> {
    const container = this.docker.getContainer(c.Id);
    const demux = new LogDemuxer(instanceIdOf(c));
    const tail = options.tail ?? 100;
    if (!options.follow) {
      const raw = await container.logs({
        stdout: true,
        stderr: true,
        tail,
        follow: false,
      });
      for (const line of [...demux.push(raw), ...demux.flush()]) queue.push(line);
      return;
    }
    const stream = (await container.logs({
      stdout: true,
      stderr: true,
      tail,
      follow: true,
    })) as unknown as Readable;
    const stop = () => stream.destroy();
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted) stop();
    try {
      for await (const chunk of stream) for (const line of demux.push(chunk as Buffer)) queue.push(line);
    } catch {
      // Aborted or the container went away: the lines so far were delivered.
    } finally {
      options.signal?.removeEventListener('abort', stop);
      for (const line of demux.flush()) queue.push(line);
    }
  }
}

/** A tiny unbounded async queue: producers push, one consumer iterates until end(). */
class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.#items.length > 0) yield this.#items.shift()!;
      if (this.#ended) return;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }
}

function serviceOf(c: InspectedContainer | Docker.ContainerInfo): ServiceName {
  const labels = 'Config' in c ? c.Config?.Labels : (c as Docker.ContainerInfo).Labels;
  return (labels?.[LABEL.service] ?? '') as ServiceName;
}

function isAlive(c: InspectedContainer): boolean {
  return c.State?.Running === true || c.State?.Paused === true || c.State?.Restarting === true;
}

function byOrdinal(service: string) {
  return (a: InspectedContainer, b: InspectedContainer) =>
    (instanceOrdinal(service, instanceIdOf(a)) ?? 0) - (instanceOrdinal(service, instanceIdOf(b)) ?? 0);
}

/**
 * The engine ignores NanoCpus 0 in an update (0 means "unchanged"), so "no CPU limit" is written as
 * a limit of every CPU the engine has, which throttles nothing.
 */
function limitUpdate(
  memoryMb: number | undefined,
  cpus: number | undefined,
  engineCpus: number,
): Record<string, number> {
  const update: Record<string, number> = {};
  if (memoryMb !== undefined) {
    update.Memory = Math.round(memoryMb * MiB);
    // No swap beyond the limit, as at creation; both move together so neither blocks the other.
    update.MemorySwap = update.Memory;
  }
  if (cpus !== undefined) update.NanoCpus = Math.round((cpus > 0 ? cpus : engineCpus) * 1e9);
  return update;
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

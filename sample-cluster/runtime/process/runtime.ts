/**
 * The process runtime: the tweet cluster as local Node processes on loopback.
 *
 * Each instance is spawned detached (its own process group) with its output appended to
 * `<home>/process-cluster/logs/<instance>.log`, so the cluster outlives the command that started
 * it (`up --detach`); `state.json` is how every later command finds it. Nothing is restarted
 * automatically: a killed or crashed service stays down until someone starts it, because chaos
 * must be visible.
 *
 * `up` on a home that already has a cluster: when every instance of it is running and healthy,
 * that cluster's status is returned (after starting any requested service it lacks), so `up` is
 * safe to repeat; when some are not, it fails with ALREADY_RUNNING naming them; when none of its
 * processes is left (a reboot), the stale record is replaced and the data kept.
 */
import { SERVICE_NODE_FLAGS } from '../node-flags.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_SPEC, type ServiceName, type ServiceSpec } from '../../cluster.ts';
import { RuntimeError, isRuntimeError } from '../errors.ts';
import { chaoscopeHome, processClusterPaths, type ProcessClusterPaths } from '../paths.ts';
import type {
  ClusterRuntime,
  ClusterStatus,
  DownOptions,
  DownResult,
  InstanceStatus,
  KillOptions,
  ProgressEvent,
  RestartOptions,
  ServiceStatus,
  UpOptions,
} from '../types.ts';
import { bundleServices } from '../bundle.ts';
import { ensureClusterTrust, removeClusterTrust, trustDir, trustEnv } from '../pki.ts';
import { tailLines } from './logs.ts';
import {
  deriveInstanceState,
  inheritedEnv,
  instanceEnv,
  isTerminatingSignal,
  selectServices,
  stopWaves,
} from './plan.ts';
import { LOOPBACK, distinctFreePorts, preferredOrNextFreePort } from './ports.ts';
import { probeReady, waitUntilReady } from './probe.ts';
import { isOurProcess, signalProcess, stopProcess, waitForExit, type ProcessIdentity } from './processes.ts';
import {
  StateLock,
  readState,
  removeState,
  writeStateAtomically,
  type ClusterState,
  type InstanceRecord,
  type ServiceRecord,
} from './state.ts';

const DEFAULT_REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_GATEWAY_PORT = 8080;

export interface ProcessRuntimeOptions {
  /** Default: chaoscopeHome(env). */
  readonly home?: string;
  /** Where the home is looked up and what services inherit PATH, HOME, OTEL_* … from. */
  readonly env?: NodeJS.ProcessEnv;
  /** The services `up` may start. Default: CLUSTER_SPEC. */
  readonly specs?: readonly ServiceSpec[];
  /** Entries are relative to it. Default: this repository. */
  readonly repoRoot?: string;
  /** Per service. Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace. Default 10 s. */
  readonly stopTimeoutMs?: number;
  readonly logLevel?: string;
  /** Node binary for the services. Default: the one running this code (Node 22). */
  readonly nodePath?: string;
  /**
   * Extra settings per service (e.g. the gateway's rate limits). The environment contract's own
   * variables always win, so a setting can never move a service off its address or cluster.
   */
  readonly serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Run each service from an esbuild bundle (default) rather than from its TypeScript sources. */
  readonly bundle?: boolean;
}

type Emit = (event: DistributiveOmit<ProgressEvent, 'elapsedMs'>) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class ProcessRuntime implements ClusterRuntime {
  readonly kind = 'process' as const;
  readonly paths: ProcessClusterPaths;
  readonly #specs: readonly ServiceSpec[];
  readonly #repoRoot: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #readyTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #logLevel: string;
  readonly #nodePath: string;
  readonly #serviceEnv: Partial<Record<ServiceName, Record<string, string>>>;
  readonly #bundle: boolean;
  readonly #lock: StateLock;
  /** Children this object spawned: their exit is seen (and recorded) only here. */
  readonly #children = new Map<string, { pid: number; exited: Promise<void> }>();

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#env = options.env ?? process.env;
    this.paths = processClusterPaths(options.home ?? chaoscopeHome(this.#env));
    this.#specs = options.specs ?? CLUSTER_SPEC;
    this.#repoRoot = resolve(options.repoRoot ?? DEFAULT_REPO_ROOT);
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.#logLevel = options.logLevel ?? 'info';
    this.#nodePath = options.nodePath ?? process.execPath;
    this.#serviceEnv = options.serviceEnv ?? {};
    this.#bundle = options.bundle ?? true;
    this.#lock = new StateLock(this.paths.lockFile);
  }

  async up(options: UpOptions = {}): Promise<ClusterStatus> {
    const began = Date.now();
    const emit: Emit = (event) => options.onProgress?.({ ...event, elapsedMs: Date.now() - began });
    const wanted = selectServices(this.#specs, options);

    const claimed = await this.#lock.run(async () => {
      const existing = await readState(this.paths.stateFile);
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
          return { fresh: false, state: existing };
        }
        emit({
          type: 'note',
          message: `cluster ${existing.clusterId} left a record but no processes; starting a new one (data kept)`,
        });
        await removeState(this.paths.stateFile);
      }
      const state = await this.#createState(options, emit);
      await writeStateAtomically(this.paths.stateFile, state);
      return { fresh: true, state };
    });

    const inCluster = new Set(claimed.state.services.map((s) => s.name));
    const toStart = claimed.fresh ? wanted : wanted.filter((s) => !inCluster.has(s.name));
    try {
      await this.#startAll(toStart, emit, options.signal);
    } catch (error) {
      // A half-started fresh cluster is worse than none; its logs stay for the post-mortem.
      if (claimed.fresh) await this.down({ volumes: false }).catch(() => undefined);
      throw error;
    }
    return this.status();
  }

  async down(options: DownOptions): Promise<DownResult> {
    const state = await this.#lock.run(async () => {
      const current = await readState(this.paths.stateFile);
      if (current) {
        for (const instance of current.services.flatMap((s) => s.instances)) instance.desired = 'stopped';
        await writeStateAtomically(this.paths.stateFile, current);
      }
      return current;
    });
    const stopped: string[] = [];
    if (state) {
      const byName = new Map(state.services.map((s) => [s.name, s]));
      for (const wave of stopWaves(state.services)) {
        await Promise.all(
          wave.flatMap((name) =>
            (byName.get(name)?.instances ?? []).map(async (instance) => {
              const outcome = await this.#stop(state, byName.get(name)!, instance);
              if (outcome !== 'not-running') stopped.push(instance.id);
            }),
          ),
        );
      }
      await this.#lock.run(() => removeState(this.paths.stateFile));
      // The CA belongs to this cluster; the next `up` makes a new one.
      await removeClusterTrust(trustDir(this.paths.dir));
    }
    if (options.volumes) await rm(this.paths.dataDir, { recursive: true, force: true });
    return { clusterId: state?.clusterId ?? null, stopped, volumesRemoved: options.volumes };
  }

  async status(): Promise<ClusterStatus> {
    return this.#statusOf(await this.#requireState());
  }

  async adminToken(): Promise<string> {
    return (await this.#requireState()).adminToken;
  }

  async kill(service: ServiceName, options: KillOptions = {}): Promise<ServiceStatus> {
    const signal = options.signal ?? 'SIGKILL';
    const state = await this.#requireState();
    const record = this.#serviceIn(state, service);
    const targets = this.#instancesOf(record, options.instanceId).filter((i) =>
      isOurProcess(this.#identity(state, record, i)),
    );
    if (targets.length === 0) {
      throw new RuntimeError(
        'NOT_RUNNING',
        `${options.instanceId ?? service} is not running; nothing to kill`,
      );
    }
    const terminating = isTerminatingSignal(signal);
    if (terminating) {
      await this.#update((s) => {
        const at = new Date().toISOString();
        for (const target of targets) {
          const instance = findInstance(s, service, target.id);
          if (instance) instance.killed = { signal, at };
        }
      });
    }
    await Promise.all(
      targets.map(async (instance) => {
        const identity = this.#identity(state, record, instance);
        signalProcess(identity, signal);
        if (terminating) {
          await waitForExit(identity, signal === 'SIGKILL' ? 5_000 : this.#stopTimeoutMs);
          await this.#exitRecorded(instance.id, identity.pid);
        }
      }),
    );
    return this.#serviceStatus(service);
  }

  async restart(service: ServiceName, options: RestartOptions = {}): Promise<ServiceStatus> {
    const state = await this.#requireState();
    const record = this.#serviceIn(state, service);
    const instances = this.#instancesOf(record, options.instanceId);
    await this.#update((s) => {
      for (const target of instances) {
        const instance = findInstance(s, service, target.id);
        if (instance) instance.desired = 'stopped';
      }
    });
    await Promise.all(instances.map((instance) => this.#stop(state, record, instance)));
    await Promise.all(
      instances.map((instance) => this.#launchAndWait(service, instance.id, () => undefined)),
    );
    return this.#serviceStatus(service);
  }

  async start(service: ServiceName): Promise<ServiceStatus> {
    const state = await this.#requireState();
    const record = state.services.find((s) => s.name === service);
    if (!record) {
      const spec = this.#specs.find((s) => s.name === service);
      if (!spec) throw this.#unknownService(state, service);
      await this.#startAll([spec], () => undefined);
      return this.#serviceStatus(service);
    }
    const down = record.instances.filter((i) => !isOurProcess(this.#identity(state, record, i)));
    await Promise.all(down.map((instance) => this.#launchAndWait(service, instance.id, () => undefined)));
    return this.#serviceStatus(service);
  }

  // --- starting -------------------------------------------------------------------------------

  async #createState(options: UpOptions, emit: Emit): Promise<ClusterState> {
    await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.paths.logsDir, { recursive: true, mode: 0o700 });
    const gatewaySpec = this.#specs.find((s) => s.publicPort !== undefined);
    const preferred = options.gatewayPort ?? gatewaySpec?.publicPort ?? DEFAULT_GATEWAY_PORT;
    const gatewayPort = await preferredOrNextFreePort(preferred);
    if (gatewayPort !== preferred)
      emit({ type: 'note', message: `port ${preferred} is busy; the gateway takes ${gatewayPort}` });
    const [registryPort] = await distinctFreePorts(1, new Set([gatewayPort]));
    const clusterId = randomBytes(6).toString('hex');
    await ensureClusterTrust(trustDir(this.paths.dir), clusterId);
    return {
      version: 1,
      runtime: 'process',
      clusterId,
      createdAt: new Date().toISOString(),
      adminToken: randomBytes(32).toString('base64url'),
      repoRoot: this.#repoRoot,
      gatewayPort,
      registryPort: registryPort!,
      services: [],
    };
  }

  /**
   * Start services as soon as what they depend on is ready, so independent ones start together;
   * the first failure stops the others from starting.
   */
  async #startAll(specs: readonly ServiceSpec[], emit: Emit, signal?: AbortSignal): Promise<void> {
    if (specs.length === 0) return;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) abort.abort();
    try {
      await this.#update(async (state) => {
        for (const spec of specs) {
          if (!state.services.some((s) => s.name === spec.name))
            state.services.push(await this.#newServiceRecord(state, spec));
        }
        // Keep the record in start order whatever order services were added in.
        const order = new Map(this.#specs.map((s, i) => [s.name, i]));
        state.services.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
      });
      const running = new Map<ServiceName, Promise<void>>();
      for (const spec of specs) {
        const dependencies = spec.dependsOn.flatMap((d) => running.get(d) ?? []);
        const started = Promise.all(dependencies).then(async () => {
          if (abort.signal.aborted) throw new RuntimeError('ABORTED', `start of ${spec.name} was cancelled`);
          await this.#launchAndWait(spec.name, `${spec.name}-1`, emit, abort.signal);
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
    }
  }

  async #newServiceRecord(state: ClusterState, spec: ServiceSpec): Promise<ServiceRecord> {
    const used = new Set([
      state.gatewayPort,
      state.registryPort,
      ...state.services.flatMap((s) => s.instances.map((i) => i.port)),
    ]);
    const port =
      spec.publicPort !== undefined
        ? state.gatewayPort
        : spec.name === 'registry'
          ? state.registryPort
          : (await distinctFreePorts(1, used))[0]!;
    const instanceId = `${spec.name}-1`;
    const dataDir = this.paths.serviceDataDir(spec.name);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const trust = await ensureClusterTrust(trustDir(this.paths.dir), state.clusterId);
    // The mutual-TLS listener gets a port chosen here too: a listener on port 0 could take a port
    // already promised to a service that has not started yet.
    for (const other of state.services.flatMap((s) => s.instances))
      if (other.env.TRUST_TLS_PORT) used.add(Number(other.env.TRUST_TLS_PORT));
    used.add(port);
    const [tlsPort] = await distinctFreePorts(1, used);
    const env = {
      ...inheritedEnv(this.#env),
      ...this.#serviceEnv[spec.name],
      ...trustEnv(trust, spec.name, { tlsPort: tlsPort! }),
      ...instanceEnv({
        clusterId: state.clusterId,
        service: spec.name,
        instanceId,
        host: LOOPBACK,
        port,
        dataDir,
        registryPort: state.registryPort,
        gatewayPort: state.gatewayPort,
        adminToken: state.adminToken,
        logLevel: this.#logLevel,
      }),
    };
    return {
      name: spec.name,
      entry: spec.entry,
      dependsOn: [...spec.dependsOn],
      instances: [
        {
          id: instanceId,
          port,
          pid: null,
          startedAt: null,
          readyAt: null,
          desired: 'stopped',
          killed: null,
          exit: null,
          env,
        },
      ],
    };
  }

  async #launchAndWait(
    service: ServiceName,
    instanceId: string,
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<void> {
    const { identity, address, logFile } = await this.#launch(service, instanceId);
    emit({ type: 'service-starting', service, instanceId, address });
    const outcome = await waitUntilReady(address, {
      timeoutMs: this.#readyTimeoutMs,
      alive: () => isOurProcess(identity),
      ...(signal ? { signal } : {}),
    });
    if (outcome === 'ready') {
      await this.#update((s) => {
        const instance = findInstance(s, service, instanceId);
        if (instance && instance.pid === identity.pid) instance.readyAt = new Date().toISOString();
      });
      emit({ type: 'service-healthy', service, instanceId, address });
      return;
    }
    if (outcome === 'aborted') throw new RuntimeError('ABORTED', `start of ${service} was cancelled`);
    const reason =
      outcome === 'died'
        ? `${await this.#howItEnded(service, instanceId, identity.pid)} before answering /readyz`
        : `did not answer /readyz with 200 within ${Math.round(this.#readyTimeoutMs / 1000)} s on ${address}`;
    emit({ type: 'service-failed', service, instanceId, reason });
    const tail = await tailLines(logFile);
    throw new RuntimeError('START_FAILED', `${service} failed to start: it ${reason} (log: ${logFile})`, {
      details:
        tail.length > 0
          ? [`last lines of ${instanceId}.log:`, ...tail.map((l) => `  ${l}`)]
          : [`${instanceId}.log is empty`],
    });
  }

  /** Spawn one instance and record its pid before anyone else can look. */
  async #launch(
    service: ServiceName,
    instanceId: string,
  ): Promise<{ identity: ProcessIdentity; address: string; logFile: string }> {
    return this.#lock.run(async () => {
      const state = await this.#requireState();
      const record = this.#serviceIn(state, service);
      const instance = this.#instancesOf(record, instanceId)[0]!;
      await this.#ensureBundles(state);
      const entryPath = this.#entryPath(state, record);
      const logFile = this.paths.logFile(instanceId);
      await mkdir(this.paths.logsDir, { recursive: true, mode: 0o700 });
      const log = await open(logFile, 'a', 0o600);
      let pid: number | undefined;
      try {
        await log.write(`\n=== chaoscope: starting ${instanceId} at ${new Date().toISOString()} ===\n`);
        const child = spawn(this.#nodePath, [...SERVICE_NODE_FLAGS, entryPath], {
          cwd: state.repoRoot,
          env: instance.env,
          detached: true,
          stdio: ['ignore', log.fd, log.fd],
        });
        // A spawn failure also arrives as an 'error' event; without a listener it would crash us.
        child.on('error', () => undefined);
        pid = child.pid;
        if (pid === undefined)
          throw new RuntimeError(
            'START_FAILED',
            `${service} failed to start: could not spawn ${this.#nodePath}`,
          );
        const childPid = pid;
        const exited = new Promise<void>((done) => {
          child.once('exit', (code, signal) => {
            void this.#recordExit(service, instanceId, childPid, code, signal).finally(done);
          });
        });
        this.#children.set(instanceId, { pid: childPid, exited });
        child.unref();
      } finally {
        await log.close();
      }
      instance.pid = pid;
      record.launchPath = entryPath;
      instance.startedAt = new Date().toISOString();
      instance.readyAt = null;
      instance.desired = 'running';
      instance.killed = null;
      instance.exit = null;
      await writeStateAtomically(this.paths.stateFile, state);
      return {
        identity: this.#identity(state, record, instance),
        address: `${LOOPBACK}:${instance.port}`,
        logFile,
      };
    });
  }

  // --- stopping and exits ---------------------------------------------------------------------

  async #stop(
    state: ClusterState,
    record: ServiceRecord,
    instance: InstanceRecord,
  ): Promise<'not-running' | 'terminated' | 'killed'> {
    const identity = this.#identity(state, record, instance);
    const outcome = await stopProcess(identity, this.#stopTimeoutMs);
    if (outcome !== 'not-running') await this.#exitRecorded(instance.id, identity.pid);
    return outcome;
  }

  async #recordExit(
    service: ServiceName,
    instanceId: string,
    pid: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> {
    await this.#update((s) => {
      const instance = findInstance(s, service, instanceId);
      if (instance && instance.pid === pid) instance.exit = { code, signal, at: new Date().toISOString() };
    }).catch(() => undefined);
  }

  async #howItEnded(service: ServiceName, instanceId: string, pid: number): Promise<string> {
    await this.#exitRecorded(instanceId, pid);
    const state = await readState(this.paths.stateFile);
    const exit = state ? findInstance(state, service, instanceId)?.exit : null;
    if (!exit) return 'exited';
    return exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
  }

  /** When this object is the parent, wait (briefly) until the exit code is in the state file. */
  async #exitRecorded(instanceId: string, pid: number): Promise<void> {
    const child = this.#children.get(instanceId);
    if (!child || child.pid !== pid) return;
    // A ref'd timer: the child is unref'd, so this wait is what keeps a CLI alive until the exit lands.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([child.exited, new Promise((r) => (timer = setTimeout(r, 1_000)))]);
    clearTimeout(timer);
    if (this.#children.get(instanceId) === child) this.#children.delete(instanceId);
  }

  // --- status ---------------------------------------------------------------------------------

  async #statusOf(state: ClusterState): Promise<ClusterStatus> {
    const services = await Promise.all(
      state.services.map(async (record) => ({
        name: record.name,
        instances: await Promise.all(
          record.instances.map((instance) => this.#instanceStatus(state, record, instance)),
        ),
      })),
    );
    return {
      clusterId: state.clusterId,
      runtime: 'process',
      createdAt: state.createdAt,
      gateway: `http://${LOOPBACK}:${state.gatewayPort}`,
      services,
      logs: this.paths.logsDir,
    };
  }

  async #instanceStatus(
    state: ClusterState,
    record: ServiceRecord,
    instance: InstanceRecord,
  ): Promise<InstanceStatus> {
    const address = `${LOOPBACK}:${instance.port}`;
    const alive = isOurProcess(this.#identity(state, record, instance));
    const ready = alive && (await probeReady(address, 1_000));
    const { state: instanceState, health } = deriveInstanceState(instance, alive, ready);
    return {
      id: instance.id,
      state: instanceState,
      health,
      address,
      ...(instance.startedAt ? { startedAt: instance.startedAt } : {}),
      ...(instance.pid !== null ? { pid: instance.pid } : {}),
      ...(!alive && instance.exit?.code != null ? { exitCode: instance.exit.code } : {}),
      // Without a parent to see the exit (a detached cluster), the signal we sent is the best account.
      ...(!alive &&
      (instance.exit?.signal ?? (instanceState === 'killed' ? instance.killed?.signal : undefined))
        ? { signal: instance.exit?.signal ?? instance.killed?.signal }
        : {}),
    };
  }

  async #serviceStatus(service: ServiceName): Promise<ServiceStatus> {
    const status = await this.status();
    return status.services.find((s) => s.name === service) ?? { name: service, instances: [] };
  }

  // --- helpers --------------------------------------------------------------------------------

  async #requireState(): Promise<ClusterState> {
    const state = await readState(this.paths.stateFile);
    if (!state) {
      throw new RuntimeError(
        'NO_CLUSTER',
        `no cluster is running (nothing in ${this.paths.dir}); start one with \`chaoscope up\``,
      );
    }
    return state;
  }

  /** Read-modify-write under the lock; a missing state (after `down`) is left missing. */
  async #update(change: (state: ClusterState) => void | Promise<void>): Promise<void> {
    await this.#lock.run(async () => {
      const state = await readState(this.paths.stateFile);
      if (!state) return;
      await change(state);
      await writeStateAtomically(this.paths.stateFile, state);
    });
  }

  #serviceIn(state: ClusterState, service: ServiceName): ServiceRecord {
    const record = state.services.find((s) => s.name === service);
    if (!record) throw this.#unknownService(state, service);
    return record;
  }

  #unknownService(state: ClusterState, service: string): RuntimeError {
    return new RuntimeError(
      'UNKNOWN_SERVICE',
      `service "${service}" is not part of this cluster; it has ${state.services.map((s) => s.name).join(', ') || 'no services'}`,
    );
  }

  #instancesOf(record: ServiceRecord, instanceId?: string): InstanceRecord[] {
    if (instanceId === undefined) return record.instances;
    const instance = record.instances.find((i) => i.id === instanceId);
    if (!instance) {
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        `${record.name} has no instance "${instanceId}"; it has ${record.instances.map((i) => i.id).join(', ')}`,
      );
    }
    return [instance];
  }

  /** What a service is started from: its bundle, or its TypeScript entry when bundling is off. */
  #entryPath(state: ClusterState, record: ServiceRecord): string {
    return this.#bundle
      ? join(this.paths.bundleDir, `${record.name}.mjs`)
      : resolve(state.repoRoot, record.entry);
  }

  /** Bundle the cluster's services when their sources changed, so a restart runs the current code. */
  async #ensureBundles(state: ClusterState): Promise<void> {
    if (!this.#bundle) return;
    try {
      await bundleServices({
        repoRoot: state.repoRoot,
        entries: Object.fromEntries(state.services.map((s) => [s.name, s.entry])),
        outDir: this.paths.bundleDir,
      });
    } catch (error) {
      throw new RuntimeError(
        'START_FAILED',
        `could not bundle the services: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  #identity(state: ClusterState, record: ServiceRecord, instance: InstanceRecord): ProcessIdentity {
    return {
      pid: instance.pid ?? 0,
      entryPath: record.launchPath ?? this.#entryPath(state, record),
      env: { CHAOSCOPE_CLUSTER_ID: state.clusterId, CHAOSCOPE_INSTANCE_ID: instance.id },
    };
  }
}

function findInstance(
  state: ClusterState,
  service: ServiceName,
  instanceId: string,
): InstanceRecord | undefined {
  return state.services.find((s) => s.name === service)?.instances.find((i) => i.id === instanceId);
}

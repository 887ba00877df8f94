/**
 * The chaos engine's and the experiment runner's ports over whatever cluster runs now. The control
 * plane opens one engine at start (its journal must be read before anything else acts), while the
 * cluster may be started, stopped or switched between runtimes later: so every port looks the
 * runtime up when it is called, never when it is built.
 */
import type { ServiceName } from '../api/schemas.ts';
import { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { DockerRuntime } from '../../sample-cluster/runtime/docker/runtime.ts';
import { SwarmRuntime } from '../../sample-cluster/runtime/swarm/runtime.ts';
import type { ClusterRuntime } from '../../sample-cluster/runtime/types.ts';
import type { ChaosEngine } from './chaos/engine.ts';
import { clusterPorts, type AuthChaos, type ContainerChaos } from './chaos/cluster-ports.ts';
import {
  ChaosUnsupportedError,
  type ChaosMarker,
  type ChaosPorts,
  type ContainerLimits,
} from './chaos/ports.ts';
import type { ClusterAccess } from './cluster-access.ts';
import { clusterExperimentPorts, type ExperimentPorts } from './experiments/index.ts';
import type { TelemetryPipeline } from './telemetry-pipeline.ts';

/** Docker's container methods in the shape the engine's ports want. */
export function dockerContainerChaos(docker: DockerRuntime): ContainerChaos {
  const countOf = async (service: ServiceName) =>
    (await docker.status()).services.find((s) => s.name === service)?.instances.length ?? 0;
  return {
    pause: (service, instanceId) => docker.pause(service, { instanceId }),
    unpause: (service, instanceId) => docker.unpause(service, { instanceId }),
    partition: (service, instanceId) => docker.partition(service, { instanceId }),
    reconnect: (service, instanceId) => docker.heal(service, { instanceId }),
    async setLimits(service, instanceId, limits): Promise<ContainerLimits> {
      // The runtime remembers the spec's limits itself; "no limits" from the engine's undo means
      // "as the cluster spec has them".
      if ((limits.cpus ?? null) === null && (limits.memoryMb ?? null) === null) {
        await docker.resetLimits(service, { instanceId });
      } else {
        await docker.setLimits(service, {
          instanceId,
          ...(limits.cpus != null ? { cpus: limits.cpus } : {}),
          ...(limits.memoryMb != null ? { memoryMb: limits.memoryMb } : {}),
        });
      }
      return { cpus: null, memoryMb: null };
    },
    async scale(service, replicas) {
      const before = await countOf(service);
      await docker.scale(service, replicas);
      return before;
    },
  };
}

/** Swarm replaces tasks rather than editing containers: partitions and live limits are refused. */
export function swarmContainerChaos(swarm: SwarmRuntime): ContainerChaos {
  const refuse = (what: string) => () =>
    Promise.reject(
      new ChaosUnsupportedError(
        `${what} is not offered on the swarm runtime (tasks are replaced, not edited); use the kit's abort fault or the docker runtime`,
      ),
    );
  return {
    pause: (service, instanceId) => swarm.pause(service, { instanceId }),
    unpause: (service, instanceId) => swarm.unpause(service, { instanceId }),
    partition: refuse('a network partition'),
    reconnect: refuse('a network partition'),
    setLimits: refuse('changing CPU and memory limits live'),
    async scale(service, replicas) {
      const before = (await swarm.status()).services.find((s) => s.name === service)?.instances.length ?? 0;
      await swarm.scale(service, replicas);
      return before;
    },
  };
}

export function containerChaosOf(runtime: ClusterRuntime): ContainerChaos | undefined {
  if (runtime instanceof DockerRuntime) return dockerContainerChaos(runtime);
  if (runtime instanceof SwarmRuntime) return swarmContainerChaos(runtime);
  return undefined;
}

/** Auth's admin API (on the running auth instance) and each instance's own trust routes. */
export async function authAdminOf(cluster: ClusterAccess): Promise<AuthAdminClient> {
  const { runtime, status } = await cluster.require();
  const auth = (await cluster.running(status, 'auth'))[0];
  if (!auth) throw new Error('auth is not running, so its admin API cannot answer');
  return new AuthAdminClient({ address: auth.instance.address, token: await runtime.adminToken() });
}

/**
 * A certificate fault with `hold` keeps the service from enrolling until the fault is rolled back:
 * without it the instance enrolls again within a second. The hold is auth's longest; the undo
 * releases it first, and a crashed control plane's journal undoes it.
 */
const CERTIFICATE_HOLD_SECONDS = 3_600;
const holding = (hold: boolean) => (hold ? { holdSeconds: CERTIFICATE_HOLD_SECONDS } : {});

export function authChaosOf(cluster: ClusterAccess): AuthChaos {
  const addressOf = async (service: ServiceName, instanceId: string) => {
    const { status } = await cluster.require();
    const found = (await cluster.running(status, service)).find((r) => r.instance.id === instanceId);
    if (!found) throw new Error(`${instanceId} is not running`);
    return found.instance.address;
  };
  return {
    revokeUser: async (user) => (await authAdminOf(cluster)).revoke({ user }),
    revokeToken: async (token) => (await authAdminOf(cluster)).revoke({ token }),
    rotateKeys: async () => (await authAdminOf(cluster)).rotateKeys(),
    rotateSecret: async () => (await authAdminOf(cluster)).rotateSharedSecret(),
    revokeCertificate: async (service, _instanceId, hold) =>
      (await authAdminOf(cluster)).revokeCertificate({ service, ...holding(hold) }),
    expireCertificate: async (service, _instanceId, hold) =>
      (await authAdminOf(cluster)).expireCertificate({ service, ...holding(hold) }),
    renewCertificate: async (service, instanceId) => {
      const client = await authAdminOf(cluster);
      await client.releaseCertificateHold(service);
      return client.renewCertificate(await addressOf(service, instanceId));
    },
    setAuthMode: async (mode) => (await (await authAdminOf(cluster)).setMode(mode)).previousMode,
  };
}

/** The engine's ports, each call made on the cluster that runs at that moment. */
export function liveChaosPorts(cluster: ClusterAccess, onMarker: (marker: ChaosMarker) => void): ChaosPorts {
  const auth = authChaosOf(cluster);
  const now = async (): Promise<ChaosPorts> => {
    const { client, runtime } = await cluster.admin();
    const containers = containerChaosOf(runtime);
    return clusterPorts({ runtime, admin: client, auth, onMarker, ...(containers ? { containers } : {}) });
  };
  return {
    instances: async (service) => (await now()).instances(service),
    kill: async (target, signal) => (await now()).kill(target, signal),
    stop: async (target, graceMs) => (await now()).stop(target, graceMs),
    start: async (target) => (await now()).start(target),
    restart: async (target) => (await now()).restart(target),
    pause: async (target) => (await now()).pause(target),
    unpause: async (target) => (await now()).unpause(target),
    partition: async (target) => (await now()).partition(target),
    reconnect: async (target) => (await now()).reconnect(target),
    setLimits: async (target, limits) => (await now()).setLimits(target, limits),
    scale: async (service, replicas) => (await now()).scale(service, replicas),
    addRequestFault: async (target, spec) => (await now()).addRequestFault(target, spec),
    removeRequestFault: async (target, faultId) => (await now()).removeRequestFault(target, faultId),
    breaker: async (holder, breaker, action) => (await now()).breaker(holder, breaker, action),
    configureBreaker: async (holder, breaker, settings) =>
      (await now()).configureBreaker(holder, breaker, settings),
    revokeUser: async (user) => (await now()).revokeUser(user),
    revokeToken: async (token) => (await now()).revokeToken(token),
    rotateKeys: async () => (await now()).rotateKeys(),
    rotateSecret: async () => (await now()).rotateSecret(),
    revokeCertificate: async (target, hold) => (await now()).revokeCertificate(target, hold),
    expireCertificate: async (target, hold) => (await now()).expireCertificate(target, hold),
    renewCertificate: async (target) => (await now()).renewCertificate(target),
    setAuthMode: async (mode) => (await now()).setAuthMode(mode),
    marker: onMarker,
  };
}

/** The experiment runner's ports, over the running cluster and the hosted telemetry store. */
export function liveExperimentPorts(
  cluster: ClusterAccess,
  engine: ChaosEngine,
  telemetry: TelemetryPipeline,
): ExperimentPorts {
  const now = async (): Promise<ExperimentPorts> => {
    const { client, runtime } = await cluster.admin();
    return clusterExperimentPorts({ engine, runtime, admin: client, query: (run) => telemetry.query(run) });
  };
  return {
    engine,
    runtimeKind: async () => (await now()).runtimeKind(),
    gateway: async () => (await now()).gateway(),
    red: async (query) => (await now()).red(query),
    breakers: async (name) => (await now()).breakers(name),
  };
}

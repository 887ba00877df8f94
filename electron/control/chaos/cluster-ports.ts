/**
 * The chaos ports over a real cluster: the runtime for instances (signals for processes; the
 * container API where the runtime has it), every service's admin routes for request faults and
 * breakers, auth's admin API for trust. What a runtime cannot do is refused with the reason.
 */
import type { BreakerSettings, FaultSpec, ServiceName } from '../../api/schemas.ts';
import type { AdminClient } from '../../../sample-cluster/runtime/admin-client.ts';
import type { ClusterRuntime, InstanceStatus } from '../../../sample-cluster/runtime/types.ts';
import {
  ChaosUnsupportedError,
  type ChaosMarker,
  type ChaosPorts,
  type ContainerLimits,
  type InstanceRef,
  type TargetInstance,
} from './ports.ts';

/** What a container runtime adds beyond ClusterRuntime (Docker, Swarm). */
export interface ContainerChaos {
  pause(service: ServiceName, instanceId: string): Promise<unknown>;
  unpause(service: ServiceName, instanceId: string): Promise<unknown>;
  partition(service: ServiceName, instanceId: string): Promise<unknown>;
  reconnect(service: ServiceName, instanceId: string): Promise<unknown>;
  setLimits(
    service: ServiceName,
    instanceId: string,
    limits: Partial<ContainerLimits>,
  ): Promise<ContainerLimits>;
  scale(service: ServiceName, replicas: number): Promise<number>;
}

/** Auth's admin API as the chaos engine uses it (the trust work provides the client). */
export interface AuthChaos {
  revokeUser(user: string): Promise<unknown>;
  revokeToken(token: string): Promise<unknown>;
  rotateKeys(): Promise<unknown>;
  rotateSecret(): Promise<unknown>;
  revokeCertificate(service: ServiceName, instanceId: string, hold: boolean): Promise<unknown>;
  expireCertificate(service: ServiceName, instanceId: string, hold: boolean): Promise<unknown>;
  renewCertificate(service: ServiceName, instanceId: string): Promise<unknown>;
  setAuthMode(mode: 'mtls' | 'jwt-secret' | 'oauth'): Promise<'mtls' | 'jwt-secret' | 'oauth'>;
}

export interface ClusterPortsOptions {
  readonly runtime: ClusterRuntime;
  readonly admin: AdminClient;
  readonly containers?: ContainerChaos;
  readonly auth?: AuthChaos;
  readonly onMarker: (marker: ChaosMarker) => void;
}

const RUNNING = new Set(['running', 'starting']);

export function clusterPorts(options: ClusterPortsOptions): ChaosPorts {
  const { runtime, admin } = options;

  const instancesOf = async (service: ServiceName): Promise<readonly InstanceStatus[]> => {
    const status = await runtime.status();
    return status.services.find((s) => s.name === service)?.instances ?? [];
  };
  const addressOf = async (target: InstanceRef): Promise<string> => {
    const instance = (await instancesOf(target.service)).find((i) => i.id === target.instanceId);
    if (!instance) throw new ChaosUnsupportedError(`${target.instanceId} is not part of the cluster`);
    return instance.address;
  };
  const containers = (what: string): ContainerChaos => {
    if (!options.containers) {
      throw new ChaosUnsupportedError(
        `${what} needs a container runtime (docker or swarm); this cluster runs on ${runtime.kind}`,
      );
    }
    return options.containers;
  };
  const auth = (what: string): AuthChaos => {
    if (!options.auth)
      throw new ChaosUnsupportedError(`${what} needs auth's admin API, which this cluster lacks`);
    return options.auth;
  };
  /** A breaker lives in its caller; every instance of the caller holds its own copy. */
  const holderAddresses = async (holder: ServiceName): Promise<string[]> => {
    const live = (await instancesOf(holder)).filter((i) => RUNNING.has(i.state));
    if (live.length === 0)
      throw new ChaosUnsupportedError(`${holder} is not running, so its breakers are gone`);
    return live.map((i) => i.address);
  };

  return {
    async instances(service): Promise<TargetInstance[]> {
      return (await instancesOf(service)).map((i) => ({
        service,
        instanceId: i.id,
        running: RUNNING.has(i.state),
      }));
    },
    async kill(target, signal) {
      await runtime.kill(target.service, { signal: signal as NodeJS.Signals, instanceId: target.instanceId });
    },
    async stop(target) {
      // The kit drains on SIGTERM; the runtime escalates to SIGKILL after its stop timeout.
      await runtime.kill(target.service, { signal: 'SIGTERM', instanceId: target.instanceId });
    },
    async start(target) {
      const instance = (await instancesOf(target.service)).find((i) => i.id === target.instanceId);
      if (instance && RUNNING.has(instance.state)) return;
      await runtime.start(target.service);
    },
    async restart(target) {
      await runtime.restart(target.service, { instanceId: target.instanceId });
    },
    async pause(target) {
      if (options.containers) return void (await options.containers.pause(target.service, target.instanceId));
      await runtime.kill(target.service, { signal: 'SIGSTOP', instanceId: target.instanceId });
    },
    async unpause(target) {
      if (options.containers)
        return void (await options.containers.unpause(target.service, target.instanceId));
      await runtime.kill(target.service, { signal: 'SIGCONT', instanceId: target.instanceId });
    },
    async partition(target) {
      await containers('partition').partition(target.service, target.instanceId);
    },
    async reconnect(target) {
      await containers('reconnect').reconnect(target.service, target.instanceId);
    },
    setLimits: (target, limits) =>
      containers('CPU and memory limits').setLimits(target.service, target.instanceId, limits),
    scale: (service, replicas) => containers('scaling').scale(service, replicas),

    async addRequestFault(target, spec: FaultSpec) {
      return (await admin.addFault(await addressOf(target), spec)).id;
    },
    async removeRequestFault(target, faultId) {
      await admin.removeFault(await addressOf(target), faultId);
    },
    async breaker(holder, breaker, action) {
      for (const address of await holderAddresses(holder)) await admin.actOnBreaker(address, breaker, action);
    },
    async configureBreaker(holder, breaker, settings): Promise<BreakerSettings> {
      let before: BreakerSettings | undefined;
      for (const address of await holderAddresses(holder)) {
        const snapshot = await admin.breaker(address, breaker);
        before ??= snapshot.settings;
        await admin.configureBreaker(address, breaker, settings);
      }
      return before!;
    },

    revokeUser: async (user) => void (await auth('revoking a user').revokeUser(user)),
    revokeToken: async (token) => void (await auth('revoking a token').revokeToken(token)),
    rotateKeys: async () => void (await auth('rotating signing keys').rotateKeys()),
    rotateSecret: async () => void (await auth('rotating the shared secret').rotateSecret()),
    revokeCertificate: async (t, hold) =>
      void (await auth('revoking a certificate').revokeCertificate(t.service, t.instanceId, hold)),
    expireCertificate: async (t, hold) =>
      void (await auth('expiring a certificate').expireCertificate(t.service, t.instanceId, hold)),
    renewCertificate: async (t) =>
      void (await auth('renewing a certificate').renewCertificate(t.service, t.instanceId)),
    setAuthMode: (mode) => auth('switching the auth mode').setAuthMode(mode),

    marker: options.onMarker,
  };
}

/**
 * What the chaos engine needs from the rest of the control plane, as one interface, so the
 * engine stays the same on every runtime and the control plane decides how each thing is done
 * (signals for processes, the Docker API for containers, admin routes for the kit and breakers,
 * auth's admin API for trust). A port that a runtime cannot offer throws ChaosUnsupportedError
 * with a sentence the user can act on.
 */
import type { BreakerSettings, FaultSpec, ServiceName } from '../../api/schemas.ts';

export class ChaosUnsupportedError extends Error {
  override readonly name = 'ChaosUnsupportedError';
}

export interface InstanceRef {
  readonly service: ServiceName;
  readonly instanceId: string;
}

export interface TargetInstance extends InstanceRef {
  readonly running: boolean;
}

export interface ContainerLimits {
  readonly cpus: number | null;
  readonly memoryMb: number | null;
}

export interface ChaosMarker {
  readonly at: string;
  readonly phase: 'applied' | 'rolled-back' | 'failed';
  readonly faultId: string;
  readonly description: string;
  readonly services: readonly ServiceName[];
  readonly reason?: string;
}

export interface ChaosPorts {
  /** Every instance of a service the runtime knows, running or not, in a stable order. */
  instances(service: ServiceName): Promise<readonly TargetInstance[]>;

  kill(target: InstanceRef, signal: string): Promise<void>;
  stop(target: InstanceRef, graceMs: number): Promise<void>;
  start(target: InstanceRef): Promise<void>;
  restart(target: InstanceRef): Promise<void>;
  pause(target: InstanceRef): Promise<void>;
  unpause(target: InstanceRef): Promise<void>;
  partition(target: InstanceRef): Promise<void>;
  reconnect(target: InstanceRef): Promise<void>;
  /** Applies the given limits and answers the ones in force before. */
  setLimits(target: InstanceRef, limits: Partial<ContainerLimits>): Promise<ContainerLimits>;
  /** Answers the replica count before. */
  scale(service: ServiceName, replicas: number): Promise<number>;

  /** Adds a kit fault in one instance; answers its id there. */
  addRequestFault(target: InstanceRef, spec: FaultSpec): Promise<string>;
  removeRequestFault(target: InstanceRef, faultId: string): Promise<void>;

  breaker(holder: ServiceName, breaker: string, action: 'open' | 'close' | 'reset'): Promise<void>;
  /** Applies the settings in every instance of the holder; answers the ones in force before. */
  configureBreaker(
    holder: ServiceName,
    breaker: string,
    settings: Partial<BreakerSettings>,
  ): Promise<BreakerSettings>;

  revokeUser(user: string): Promise<void>;
  revokeToken(token: string): Promise<void>;
  rotateKeys(): Promise<void>;
  rotateSecret(): Promise<void>;
  /** `hold`: the service gets no new certificate until renewCertificate ends the hold. */
  revokeCertificate(target: InstanceRef, hold: boolean): Promise<void>;
  expireCertificate(target: InstanceRef, hold: boolean): Promise<void>;
  /** Ends any hold and issues the instance a fresh certificate (the undo of revoke and expire). */
  renewCertificate(target: InstanceRef): Promise<void>;
  /** Answers the mode in force before. */
  setAuthMode(mode: 'mtls' | 'jwt-secret' | 'oauth'): Promise<'mtls' | 'jwt-secret' | 'oauth'>;

  /** A fault's start and end, for every chart and trace view (telemetry store and event bus). */
  marker(marker: ChaosMarker): void;
}

/**
 * The one interface every cluster runtime (process now; docker and swarm later) implements, so the
 * control plane, the CLI and the app drive any of them the same way. Nothing here may name a
 * runtime-specific thing (pids, container ids) in a required field.
 */
import type { ServiceName } from '../cluster.ts';

export const RUNTIME_KINDS = ['process', 'docker', 'swarm'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/**
 * - starting: launched, not yet ready for the first time since launch
 * - running: launched and has been ready (it may be unhealthy now: see `health`)
 * - exited: gone without the runtime having been asked to stop it (a crash, or someone else)
 * - killed: gone after a `kill` through the runtime (chaos the user asked for)
 * - stopped: stopped on purpose (down, or not started yet)
 */
export const INSTANCE_STATES = ['starting', 'running', 'exited', 'killed', 'stopped'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** `unknown` when the instance is not running, so no probe was made. */
export const INSTANCE_HEALTHS = ['healthy', 'unhealthy', 'unknown'] as const;
export type InstanceHealth = (typeof INSTANCE_HEALTHS)[number];

export interface InstanceStatus {
  /** Stable across restarts, e.g. `timeline-1`. */
  readonly id: string;
  readonly state: InstanceState;
  readonly health: InstanceHealth;
  /** host:port reachable from this machine. */
  readonly address: string;
  /** When the current (or last) incarnation was launched, ISO 8601. */
  readonly startedAt?: string;
  /** Process runtime only. */
  readonly pid?: number;
  /** Container runtimes only. */
  readonly containerId?: string;
  /** Frozen by a `pause` (it does not answer until unpaused). */
  readonly paused?: boolean;
  /** Cut off from the cluster network by a `partition`. */
  readonly partitioned?: boolean;
  /** Known only when the runtime saw the exit itself. */
  readonly exitCode?: number;
  readonly signal?: string;
}

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly instances: readonly InstanceStatus[];
}

export interface ClusterStatus {
  readonly clusterId: string;
  readonly runtime: RuntimeKind;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The gateway's public URL, e.g. http://127.0.0.1:8080. */
  readonly gateway: string;
  /** Services in start order. */
  readonly services: readonly ServiceStatus[];
  /** Where to look for the services' logs (a directory for the process runtime). */
  readonly logs?: string;
}

interface ProgressBase {
  /** Milliseconds since the operation began. */
  readonly elapsedMs: number;
}

export type ProgressEvent =
  | (ProgressBase & {
      readonly type: 'service-starting';
      readonly service: ServiceName;
      readonly instanceId: string;
      readonly address: string;
    })
  | (ProgressBase & {
      readonly type: 'service-healthy';
      readonly service: ServiceName;
      readonly instanceId: string;
      readonly address: string;
    })
  | (ProgressBase & {
      readonly type: 'service-failed';
      readonly service: ServiceName;
      readonly instanceId: string;
      readonly reason: string;
    })
  /** Container runtimes: image build progress, one event per build step (total 0: image cached). */
  | (ProgressBase & {
      readonly type: 'image-build';
      readonly image: string;
      readonly step: number;
      readonly total: number;
      readonly message: string;
    })
  /** Anything else worth a line: the gateway took another port, stale state was replaced. */
  | (ProgressBase & { readonly type: 'note'; readonly message: string });

export interface UpOptions {
  /** Start only these (plus what they depend on). Default: every non-optional service. */
  readonly services?: readonly ServiceName[];
  /** Also start the optional traffic generator. */
  readonly withLoadgen?: boolean;
  /** Preferred gateway port; when busy the next free one is taken. Default: the spec's public port. */
  readonly gatewayPort?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Abort a start in progress; what was started is stopped again. */
  readonly signal?: AbortSignal;
}

export interface DownOptions {
  /** Also remove the services' data. */
  readonly volumes: boolean;
}

export interface DownResult {
  /** null when there was no cluster. */
  readonly clusterId: string | null;
  /** Instance ids that were running and were stopped. */
  readonly stopped: readonly string[];
  readonly volumesRemoved: boolean;
}

export interface KillOptions {
  /** Default SIGKILL. */
  readonly signal?: NodeJS.Signals;
  /** Default: every instance of the service. */
  readonly instanceId?: string;
}

export interface RestartOptions {
  readonly instanceId?: string;
}

export interface ClusterRuntime {
  readonly kind: RuntimeKind;
  /**
   * Start the cluster and resolve once every started service is ready. When a healthy cluster
   * is already there, resolves with its status (starting requested services it lacks); when one
   * is there but not healthy, rejects with ALREADY_RUNNING.
   */
  up(options?: UpOptions): Promise<ClusterStatus>;
  /** Stop everything; resolves with clusterId null when there was nothing. */
  down(options: DownOptions): Promise<DownResult>;
  /** Rejects with NO_CLUSTER when there is none. */
  status(): Promise<ClusterStatus>;
  /** Signal a service's instances. Nothing restarts them: chaos must be visible. */
  kill(service: ServiceName, options?: KillOptions): Promise<ServiceStatus>;
  /** Stop gracefully (then forcibly), start again at the same address, resolve once ready. */
  restart(service: ServiceName, options?: RestartOptions): Promise<ServiceStatus>;
  /** Start a service that is not running (killed, exited, stopped, or never started). */
  start(service: ServiceName): Promise<ServiceStatus>;
  /** The cluster admin credential guarding every service's /admin routes. */
  adminToken(): Promise<string>;
}

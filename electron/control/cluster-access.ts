/**
 * The control plane's handle on the cluster: which runtime drives it, its status in the API's
 * shape, its running instances, and an admin client with the cluster's credential.
 */
import { ApiError } from '../api/errors.ts';
import type {
  ClusterStatus as ApiClusterStatus,
  InstanceStatus as ApiInstanceStatus,
  ServiceName,
  ServiceStatus as ApiServiceStatus,
} from '../api/schemas.ts';
import { AdminClient } from '../../sample-cluster/runtime/admin-client.ts';
import { isRuntimeError } from '../../sample-cluster/runtime/errors.ts';
import { AVAILABLE_RUNTIMES } from '../../sample-cluster/runtime/select.ts';
import type {
  ClusterRuntime,
  ClusterStatus,
  InstanceStatus,
  RuntimeKind,
  ServiceStatus,
} from '../../sample-cluster/runtime/types.ts';

/** How long an engine that did not answer is left alone. */
const ENGINE_RETRY_MS = 30_000;

export type RuntimeFactory = (kind: RuntimeKind) => ClusterRuntime;

export interface RunningInstance {
  readonly service: ServiceName;
  readonly instance: InstanceStatus;
}

export class ClusterAccess {
  readonly #factory: RuntimeFactory;
  readonly #runtimes = new Map<RuntimeKind, ClusterRuntime>();
  readonly #collectorUrl: () => string;
  readonly #pausedUntil: (instanceId: string) => string | undefined;
  #active: RuntimeKind | null = null;
  readonly #unavailableUntil = new Map<RuntimeKind, number>();
  #admin: { clusterId: string; client: AdminClient } | null = null;

  constructor(options: {
    factory: RuntimeFactory;
    collectorUrl: () => string;
    pausedUntil: (instanceId: string) => string | undefined;
  }) {
    this.#factory = options.factory;
    this.#collectorUrl = options.collectorUrl;
    this.#pausedUntil = options.pausedUntil;
  }

  runtime(kind: RuntimeKind): ClusterRuntime {
    let runtime = this.#runtimes.get(kind);
    if (!runtime) this.#runtimes.set(kind, (runtime = this.#factory(kind)));
    return runtime;
  }

  set active(kind: RuntimeKind) {
    this.#active = kind;
    this.#unavailableUntil.delete(kind);
  }

  /**
   * The cluster that exists, or null. The runtime last used is asked first; an engine that does not
   * answer (no Docker daemon) counts as "no cluster there" and is not asked again for a while, so
   * the watchers' once-a-second look stays cheap on a machine without Docker.
   */
  async find(): Promise<{ runtime: ClusterRuntime; status: ClusterStatus } | null> {
    const kinds = [...new Set([...(this.#active ? [this.#active] : []), ...AVAILABLE_RUNTIMES])];
    for (const kind of kinds) {
      if ((this.#unavailableUntil.get(kind) ?? 0) > Date.now()) continue;
      const runtime = this.runtime(kind);
      try {
        const status = await runtime.status();
        this.#active = kind;
        return { runtime, status };
      } catch (error) {
        if (isRuntimeError(error, 'NO_CLUSTER')) continue;
        if (isRuntimeError(error, 'ENGINE_UNAVAILABLE') || (kind !== this.#active && isRuntimeError(error))) {
          this.#unavailableUntil.set(kind, Date.now() + ENGINE_RETRY_MS);
          continue;
        }
        throw error;
      }
    }
    return null;
  }

  /** The cluster, or NO_CLUSTER. */
  async require(): Promise<{ runtime: ClusterRuntime; status: ClusterStatus }> {
    const found = await this.find();
    if (!found) {
      throw new ApiError(
        'NO_CLUSTER',
        `no cluster is running (runtimes checked: ${AVAILABLE_RUNTIMES.join(', ')}); start one with \`chaoscope up\``,
      );
    }
    return found;
  }

  toApi(status: ClusterStatus): ApiClusterStatus {
    return {
      clusterId: status.clusterId,
      runtime: status.runtime,
      createdAt: status.createdAt,
      gateway: status.gateway,
      collector: this.#collectorUrl(),
      services: status.services.map((s) => this.serviceToApi(s)),
      ...(status.logs ? { logs: status.logs } : {}),
    };
  }

  serviceToApi(service: ServiceStatus): ApiServiceStatus {
    return { name: service.name, instances: service.instances.map((i) => this.#instanceToApi(i)) };
  }

  #instanceToApi(instance: InstanceStatus): ApiInstanceStatus {
    const pausedUntil = instance.state === 'running' ? this.#pausedUntil(instance.id) : undefined;
    return {
      ...instance,
      ...(pausedUntil ? { pausedUntil, paused: true } : {}),
    };
  }

  /** Running instances (of one service, or all), for admin calls. */
  async running(status: ClusterStatus, service?: ServiceName): Promise<RunningInstance[]> {
    return status.services
      .filter((s) => service === undefined || s.name === service)
      .flatMap((s) =>
        s.instances.filter((i) => i.state === 'running').map((instance) => ({ service: s.name, instance })),
      );
  }

  /** An admin client holding the credential of the running cluster. */
  async admin(): Promise<{ client: AdminClient; status: ClusterStatus; runtime: ClusterRuntime }> {
    const { runtime, status } = await this.require();
    if (this.#admin?.clusterId !== status.clusterId) {
      this.#admin = {
        clusterId: status.clusterId,
        client: new AdminClient({ token: await runtime.adminToken() }),
      };
    }
    return { client: this.#admin.client, status, runtime };
  }
}

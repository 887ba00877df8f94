/**
 * What the experiment runner needs from the control plane, as one interface: the chaos engine
 * (every fault goes through it, so its journal covers a crash), the telemetry queries for error
 * rates and latencies, the services' admin routes for breaker states, and the gateway's address.
 * `clusterExperimentPorts` builds them from the real parts; tests use the same function.
 */
import type { BreakerSnapshot } from '../../api/schemas.ts';
import type { AdminClient } from '../../../sample-cluster/runtime/admin-client.ts';
import type { ClusterRuntime } from '../../../sample-cluster/runtime/types.ts';
import { red, type RedQuery, type RedSeries } from '../../../telemetry/query/red.ts';
import type { TelemetryReader } from '../../../telemetry/store/index.ts';
import type { ChaosEngine } from '../chaos/engine.ts';

export interface ExperimentPorts {
  readonly engine: ChaosEngine;
  /** Which runtime drives the cluster (a fault step may say what to do instead on it). */
  runtimeKind(): Promise<'process' | 'docker' | 'swarm'>;
  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  gateway(): Promise<string>;
  /** RED of a service's server spans (telemetry/query red()). */
  red(query: RedQuery): Promise<RedSeries>;
  /** The breaker in every running instance of the service that holds it. */
  breakers(name: string): Promise<{ instanceId: string; snapshot: BreakerSnapshot }[]>;
  /** HTTP for probes and traffic. Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface ClusterExperimentPortsOptions {
  readonly engine: ChaosEngine;
  readonly runtime: ClusterRuntime;
  readonly admin: AdminClient;
  /** Runs a query on the telemetry store (the pipeline serialises them on one connection). */
  query<T>(run: (reader: TelemetryReader) => Promise<T>): Promise<T>;
}

export function clusterExperimentPorts(options: ClusterExperimentPortsOptions): ExperimentPorts {
  const { runtime, admin } = options;
  return {
    engine: options.engine,
    runtimeKind: async () => runtime.kind,
    gateway: async () => (await runtime.status()).gateway.replace(/\/$/, ''),
    red: (query) => options.query((reader) => red(reader, query)),
    async breakers(name) {
      const holder = name.split(':')[0];
      const status = await runtime.status();
      const instances = status.services.find((s) => s.name === holder)?.instances ?? [];
      const live = instances.filter((i) => i.state === 'running' || i.state === 'starting');
      return Promise.all(
        live.map(async (i) => ({
          instanceId: i.id,
          snapshot: (await admin.breaker(i.address, name)) as unknown as BreakerSnapshot,
        })),
      );
    },
  };
}

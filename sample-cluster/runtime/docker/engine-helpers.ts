/**
 * What the docker and swarm runtimes both do with the engine: refuse to act without one, find and
 * make the labelled network a cluster is known by, remove this home's volumes, order the status'
 * services as the cluster spec does, check a replica count, and read the engine's "not found" as
 * "already gone".
 */
import type Docker from 'dockerode';
import type { ServiceName, ServiceSpec } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';
import type { InstanceStatus, ServiceStatus, UpOptions } from '../types.ts';
import { LABEL, isOurs, labelFilter } from './labels.ts';
import type { DockerPreflight } from './preflight.ts';

export const DEFAULT_GATEWAY_PORT = 8080;
export const MAX_REPLICAS = 10;

export type EngineRuntimeKind = 'docker' | 'swarm';

/** A cluster as the labels of its network tell it. */
export interface ClusterNetwork {
  readonly clusterId: string;
  readonly network: string;
  readonly createdAt: string;
  readonly gatewayPort: number;
}

/** The engine, or ENGINE_UNAVAILABLE saying why and what to do instead. */
export function requireReachable(engine: DockerPreflight): DockerPreflight {
  if (!engine.reachable)
    throw new RuntimeError(
      'ENGINE_UNAVAILABLE',
      `${engine.reason ?? 'no Docker engine answers'}; start Docker (or use --runtime process)`,
    );
  return engine;
}

/** The port `up` asks for first: the caller's, else the spec's public port, else 8080. */
export function preferredGatewayPort(options: UpOptions, specs: readonly ServiceSpec[]): number {
  return options.gatewayPort ?? specs.find((s) => s.publicPort)?.publicPort ?? DEFAULT_GATEWAY_PORT;
}

/** The newest network of ours this home made with this runtime; null when there is none. */
export async function findClusterNetwork(
  docker: Docker,
  homeHash: string,
  runtime: EngineRuntimeKind,
): Promise<ClusterNetwork | null> {
  const networks = await docker.listNetworks({
    filters: labelFilter({ [LABEL.home]: homeHash, [LABEL.runtime]: runtime }),
  });
  const ours = networks
    .filter((n) => isOurs(n.Labels))
    .sort((a, b) => (b.Labels?.[LABEL.createdAt] ?? '').localeCompare(a.Labels?.[LABEL.createdAt] ?? ''));
  const network = ours[0];
  if (!network) return null;
  const labels = network.Labels ?? {};
  const gateway = labels[LABEL.gateway] ?? '';
  return {
    clusterId: labels[LABEL.cluster]!,
    network: network.Name,
    createdAt: labels[LABEL.createdAt] ?? '',
    gatewayPort: Number(/:(\d+)$/.exec(gateway)?.[1] ?? DEFAULT_GATEWAY_PORT),
  };
}

/** Make the cluster's network, labelled so that findClusterNetwork finds it again. */
export async function createClusterNetwork(
  docker: Docker,
  cluster: {
    clusterId: string;
    name: string;
    homeHash: string;
    runtime: EngineRuntimeKind;
    gatewayPort: number;
  },
  driver: Pick<Docker.NetworkCreateOptions, 'Driver' | 'CheckDuplicate' | 'Attachable'>,
): Promise<ClusterNetwork> {
  const createdAt = new Date().toISOString();
  await docker.createNetwork({
    Name: cluster.name,
    ...driver,
    Labels: {
      [LABEL.cluster]: cluster.clusterId,
      [LABEL.home]: cluster.homeHash,
      [LABEL.runtime]: cluster.runtime,
      [LABEL.createdAt]: createdAt,
      [LABEL.gateway]: `http://127.0.0.1:${cluster.gatewayPort}`,
    },
  });
  return { clusterId: cluster.clusterId, network: cluster.name, createdAt, gatewayPort: cluster.gatewayPort };
}

/** Remove the volumes of ours that carry these labels; one already gone is fine. */
export async function removeOurVolumes(docker: Docker, labels: Record<string, string>): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: labelFilter(labels) });
  await Promise.all(
    (Volumes ?? [])
      .filter((v) => isOurs(v.Labels))
      .map((v) => docker.getVolume(v.Name).remove().catch(ignoreNotFound)),
  );
}

/** A replica count a runtime can run: 0 to MAX_REPLICAS, and exactly one registry. */
export function checkReplicas(service: ServiceName, replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS)
    throw new RuntimeError(
      'UNSUPPORTED',
      `replicas must be a whole number from 0 to ${MAX_REPLICAS}, got ${replicas}`,
    );
  if (service === 'registry' && replicas !== 1)
    throw new RuntimeError(
      'UNSUPPORTED',
      'the registry keeps its state in memory: it runs as exactly one instance',
    );
}

/** Services in the cluster spec's order (unknown ones last), each one's instances by `ordinal`. */
export function orderedServices(
  specs: readonly ServiceSpec[],
  byService: ReadonlyMap<ServiceName, InstanceStatus[]>,
  ordinal: (service: ServiceName, instanceId: string) => number,
): ServiceStatus[] {
  const order = new Map(specs.map((s, i) => [s.name as string, i]));
  return [...byService.entries()]
    .sort(([a], [b]) => (order.get(a) ?? 99) - (order.get(b) ?? 99))
    .map(([name, instances]) => ({
      name,
      instances: instances.sort((a, b) => ordinal(name, a.id) - ordinal(name, b.id)),
    }));
}

export function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number(error.statusCode)
    : undefined;
}

export function isNotFound(error: unknown): boolean {
  return statusCode(error) === 404;
}

export function isNotModified(error: unknown): boolean {
  return statusCode(error) === 304;
}

/** For `.catch`: a 404 means the thing is already gone, which is what the caller wanted. */
export function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

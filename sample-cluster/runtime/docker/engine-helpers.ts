/**
 * What the docker and swarm runtimes both do with the engine: resolve their options, refuse to act
 * without an engine, find and make the labelled network a cluster is known by, gather what its
 * containers are made from, remove this home's volumes, order the status' services as the cluster
 * spec does, check a replica count, and read the engine's "not found" as "already gone".
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { CLUSTER_SPEC, type ServiceName, type ServiceSpec } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';
import { chaoscopeHome } from '../paths.ts';
import { ensureClusterTrust, trustDir } from '../pki.ts';
import type { InstanceStatus, ServiceStatus, UpOptions } from '../types.ts';
import { dockerClient } from './client.ts';
import { ensureClusterImage, type Emit } from './cluster-image.ts';
import { LABEL, homeHash, isOurs, labelFilter } from './labels.ts';
import type { DockerPreflight } from './preflight.ts';
import { inheritedContainerEnv, type ClusterFacts } from './spec.ts';

export const DEFAULT_GATEWAY_PORT = 8080;
export const MAX_REPLICAS = 10;
const DEFAULT_REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface EngineRuntimeOptions {
  /** Default: chaoscopeHome(env). */
  readonly home?: string;
  /** DOCKER_HOST and friends, and the OTEL_* settings passed to the services. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** An engine client; default one made from `env`. */
  readonly docker?: Docker;
  readonly specs?: readonly ServiceSpec[];
  readonly repoRoot?: string;
  /** Per service; each runtime has its own default. */
  readonly readyTimeoutMs?: number;
  readonly logLevel?: string;
  /** Linux Node binary for the base image. Default: the project's `node` devDependency. */
  readonly nodePath?: string;
  /**
   * Extra settings per service (telemetry endpoints, the gateway's rate limits …). URLs aimed at
   * 127.0.0.1/localhost are rewritten to host.docker.internal, the host as containers see it.
   */
  readonly serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

/** EngineRuntimeOptions with every default applied. */
export interface EngineSettings {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly docker: Docker;
  readonly homeHash: string;
  /** The runtime's own folder in the home: image build context, the cluster CA, records. */
  readonly dir: string;
  readonly specs: readonly ServiceSpec[];
  readonly repoRoot: string;
  readonly readyTimeoutMs: number;
  readonly logLevel: string;
  readonly nodePath: string | undefined;
  readonly serviceEnv: Partial<Record<ServiceName, Record<string, string>>>;
}

export function engineSettings(
  options: EngineRuntimeOptions,
  defaults: { dirName: string; readyTimeoutMs: number },
): EngineSettings {
  const env = options.env ?? process.env;
  const home = options.home ?? chaoscopeHome(env);
  return {
    env,
    home,
    docker: options.docker ?? dockerClient(env),
    homeHash: homeHash(home),
    dir: join(home, defaults.dirName),
    specs: options.specs ?? CLUSTER_SPEC,
    repoRoot: resolve(options.repoRoot ?? DEFAULT_REPO_ROOT),
    readyTimeoutMs: options.readyTimeoutMs ?? defaults.readyTimeoutMs,
    logLevel: options.logLevel ?? 'info',
    nodePath: options.nodePath,
    serviceEnv: options.serviceEnv ?? {},
  };
}

/** What every container of the cluster is made from (spec.ts); the image is built when need be. */
export async function clusterFacts(
  settings: EngineSettings,
  engine: DockerPreflight,
  cluster: ClusterNetwork,
  adminToken: string,
  emit: Emit,
): Promise<ClusterFacts> {
  const { docker, repoRoot, dir, specs, nodePath } = settings;
  const image = await ensureClusterImage({
    docker,
    repoRoot,
    dir,
    specs,
    engineArch: engine.arch ?? 'amd64',
    nodePath,
    emit,
  });
  return {
    clusterId: cluster.clusterId,
    homeHash: settings.homeHash,
    network: cluster.network,
    image,
    adminToken,
    gatewayPort: cluster.gatewayPort,
    logLevel: settings.logLevel,
    serviceEnv: settings.serviceEnv,
    inheritedEnv: inheritedContainerEnv(settings.env),
    trust: await ensureClusterTrust(trustDir(dir), cluster.clusterId),
  };
}

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

/**
 * What the engine can do, asked before anything is started: is it there, which version, OS and CPU,
 * how much memory, swarm mode, and whether kernel netem exists (it does not on this machine's kernel
 * nor on Docker Desktop for Apple silicon; network faults then go through the service kit).
 */
import { access, readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { CLUSTER_SPEC, type ServiceSpec } from '../../cluster.ts';
import { engineLabel, engineOptions, pingEngine } from './client.ts';

export interface NetemSupport {
  /** null when it cannot be told from here (a remote engine). */
  readonly available: boolean | null;
  readonly detail: string;
}

export interface DockerPreflight {
  /** Where the engine was looked for, e.g. unix:///var/run/docker.sock. */
  readonly engine: string;
  readonly reachable: boolean;
  /** Why not, when unreachable. */
  readonly reason?: string;
  readonly version?: string;
  readonly apiVersion?: string;
  /** linux (containers are Linux even on Docker Desktop). */
  readonly os?: string;
  /** Docker architecture name: amd64, arm64, … */
  readonly arch?: string;
  readonly kernel?: string;
  readonly operatingSystem?: string;
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly cgroupVersion?: string;
  /** inactive, active, pending, error, locked. */
  readonly swarm?: string;
  readonly swarmManager?: boolean;
  readonly netem: NetemSupport;
  /** Who carries latency, loss and similar network faults. */
  readonly networkFaults: 'netem' | 'service-kit';
  /** The memory the cluster's services are limited to, in total. */
  readonly clusterBudgetBytes: number;
  /** Things that will stop or hurt a cluster here, one line each. */
  readonly problems: readonly string[];
}

const MiB = 1024 * 1024;

export async function preflight(
  docker: Docker,
  options: { env?: NodeJS.ProcessEnv; specs?: readonly ServiceSpec[]; timeoutMs?: number } = {},
): Promise<DockerPreflight> {
  const env = options.env ?? process.env;
  const engine = engineLabel(safeOptions(env));
  const clusterBudgetBytes = (options.specs ?? CLUSTER_SPEC).reduce((sum, s) => sum + s.memoryMb * MiB, 0);
  const unknownNetem: NetemSupport = { available: null, detail: 'no engine to ask' };
  if (!(await pingEngine(docker, options.timeoutMs ?? 2_000))) {
    return {
      engine,
      reachable: false,
      reason: `no Docker engine answers at ${engine}`,
      netem: unknownNetem,
      networkFaults: 'service-kit',
      clusterBudgetBytes,
      problems: [`no Docker engine answers at ${engine}`],
    };
  }
  const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<EngineInfo>]);
  const local = isLocalEngine(env);
  const netem = local
    ? await localNetem(version.KernelVersion)
    : { available: null, detail: 'the engine is remote: kernel netem cannot be checked from here' };
  const problems: string[] = [];
  if (version.Os !== 'linux')
    problems.push(`the engine runs ${version.Os} containers; the cluster needs linux`);
  if (typeof info.MemTotal === 'number' && info.MemTotal < clusterBudgetBytes)
    problems.push(
      `the engine has ${Math.round(info.MemTotal / MiB)} MiB of memory; the cluster is limited to ${Math.round(clusterBudgetBytes / MiB)} MiB`,
    );
  return {
    engine,
    reachable: true,
    version: version.Version,
    apiVersion: version.ApiVersion,
    os: version.Os,
    arch: dockerArch(version.Arch),
    kernel: version.KernelVersion,
    ...(info.OperatingSystem ? { operatingSystem: info.OperatingSystem } : {}),
    ...(typeof info.MemTotal === 'number' ? { memoryBytes: info.MemTotal } : {}),
    ...(typeof info.NCPU === 'number' ? { cpus: info.NCPU } : {}),
    ...(info.CgroupVersion ? { cgroupVersion: info.CgroupVersion } : {}),
    ...(info.Swarm?.LocalNodeState ? { swarm: info.Swarm.LocalNodeState } : {}),
    ...(info.Swarm ? { swarmManager: info.Swarm.ControlAvailable === true } : {}),
    netem,
    networkFaults: netem.available === true ? 'netem' : 'service-kit',
    clusterBudgetBytes,
    problems,
  };
}

interface EngineInfo {
  MemTotal?: number;
  NCPU?: number;
  OperatingSystem?: string;
  CgroupVersion?: string;
  Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
}

/** Go's GOARCH names are Docker's; `uname -m` style names are mapped for older engines. */
export function dockerArch(arch: string): string {
  const map: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm' };
  return map[arch] ?? arch;
}

function safeOptions(env: NodeJS.ProcessEnv) {
  try {
    return engineOptions(env);
  } catch {
    return { host: env.DOCKER_HOST ?? '?' };
  }
}

/** The engine shares this kernel when it listens on a local socket or on loopback. */
export function isLocalEngine(env: NodeJS.ProcessEnv): boolean {
  const host = env.DOCKER_HOST?.trim();
  if (!host || host.startsWith('unix://')) return true;
  try {
    const url = new URL(host.includes('//') ? host : `tcp://${host}`);
    return url.protocol !== 'ssh:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

/**
 * netem is there when the module is loaded, or can be loaded (its file is under /lib/modules), or
 * built in (listed in modules.builtin). Docker Desktop runs a VM whose kernel this cannot see:
 * its socket is local but its kernel is not, which the engine's kernel version gives away.
 */
async function localNetem(engineKernel: string): Promise<NetemSupport> {
  const hostKernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  if (!hostKernel || hostKernel !== engineKernel)
    return { available: null, detail: `the engine's kernel (${engineKernel}) is not this machine's` };
  if (await exists('/sys/module/sch_netem')) return { available: true, detail: 'sch_netem is loaded' };
  const builtin = await readFile(`/lib/modules/${hostKernel}/modules.builtin`, 'utf8').catch(() => '');
  if (builtin.includes('sch_netem')) return { available: true, detail: 'sch_netem is built into the kernel' };
  const modules = await readFile(`/lib/modules/${hostKernel}/modules.dep`, 'utf8').catch(() => '');
  if (modules.includes('sch_netem')) return { available: true, detail: 'sch_netem can be loaded' };
  return {
    available: false,
    detail: `kernel ${hostKernel} has no sch_netem: network faults go through the service kit's fault layer`,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

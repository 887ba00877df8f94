/**
 * How what the engine says about a container (plus our own chaos record and, when asked, a /readyz
 * probe from the host) becomes the runtime-neutral InstanceStatus. Pure, so every combination is
 * tested without an engine.
 */
import type Docker from 'dockerode';
import { SERVICE_PORT } from '../images/build.ts';
import type { InstanceHealth, InstanceState, InstanceStatus } from '../types.ts';
import { markApplies, type DownMark } from './chaos-record.ts';
import { LABEL } from './labels.ts';
import { LOOPBACK } from './spec.ts';

/** The parts of `docker inspect` we read. */
export interface InspectedContainer {
  readonly Id: string;
  readonly Name?: string;
  readonly Config?: { Labels?: Record<string, string> | null; Env?: string[] | null };
  readonly State?: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    ExitCode?: number;
    StartedAt?: string;
    OOMKilled?: boolean;
    Health?: { Status?: string } | null;
  };
  readonly HostConfig?: {
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    Memory?: number;
    NanoCpus?: number;
  };
  readonly NetworkSettings?: { Networks?: Record<string, { IPAddress?: string } | undefined> | null };
  readonly Mounts?: Array<{ Type?: string; Source?: string; Destination?: string }>;
}

export function asInspected(info: Docker.ContainerInspectInfo): InspectedContainer {
  return info;
}

/** 127.0.0.1:<published port>, or the container's address on `network` when nothing is published. */
export function hostAddress(container: InspectedContainer, network: string): string {
  const binding = container.HostConfig?.PortBindings?.[`${SERVICE_PORT}/tcp`]?.[0];
  if (binding?.HostPort) return `${binding.HostIp || LOOPBACK}:${binding.HostPort}`;
  const ip = container.NetworkSettings?.Networks?.[network]?.IPAddress;
  return `${ip || LOOPBACK}:${SERVICE_PORT}`;
}

export function instanceIdOf(container: InspectedContainer): string {
  return (
    container.Config?.Labels?.[LABEL.instance] ??
    container.Name?.replace(/^\//, '') ??
    container.Id.slice(0, 12)
  );
}

export interface StatusOptions {
  readonly mark?: DownMark;
  /** What a /readyz probe just said, when one was made. */
  readonly ready?: boolean;
  /** This incarnation (container and start time) answered /readyz before. */
  readonly wasReady?: boolean;
  readonly network: string;
}

/**
 * - running/paused/restarting: `running` once it has been ready (engine health `healthy` or our
 *   probe answered), else `starting`; health from the probe when one was made, else the engine's.
 * - exited/dead: `killed` or `stopped` when our record says we did it to this incarnation, else
 *   `exited` (a crash, an OOM kill, someone else's `docker stop`).
 * - created: `stopped` (never started).
 */
export function deriveState(
  container: InspectedContainer,
  options: StatusOptions,
): Pick<InstanceStatus, 'state' | 'health' | 'exitCode' | 'signal' | 'paused' | 'partitioned'> {
  const s = container.State ?? {};
  const engineHealth = s.Health?.Status;
  const alive = s.Running === true || s.Paused === true || s.Restarting === true;
  if (alive) {
    const paused = s.Paused === true;
    const partitioned = !container.NetworkSettings?.Networks?.[options.network];
    const healthy = paused ? false : (options.ready ?? engineHealth === 'healthy');
    // The engine says `starting` until its first passing check; our probe may know sooner, and once
    // this incarnation answered, a later failed check (a busy machine, a kill in flight) is
    // `unhealthy`, not a start all over again.
    const everReady = healthy || options.wasReady === true || engineHealth !== 'starting';
    const state: InstanceState = s.Restarting ? 'starting' : everReady ? 'running' : 'starting';
    const health: InstanceHealth = healthy ? 'healthy' : 'unhealthy';
    return { state, health, ...(paused ? { paused } : {}), ...(partitioned ? { partitioned } : {}) };
  }
  if (s.Status === 'created') return { state: 'stopped', health: 'unknown' };
  const mark = markApplies(options.mark, s.StartedAt);
  if (mark?.kind === 'stopped') return { state: 'stopped', health: 'unknown' };
  if (mark?.kind === 'killed')
    return { state: 'killed', health: 'unknown', ...(mark.signal ? { signal: mark.signal } : {}) };
  return {
    state: 'exited',
    health: 'unknown',
    ...(typeof s.ExitCode === 'number' ? { exitCode: s.ExitCode } : {}),
    ...(s.OOMKilled ? { signal: 'SIGKILL' } : {}),
  };
}

export function instanceStatus(container: InspectedContainer, options: StatusOptions): InstanceStatus {
  const started = container.State?.StartedAt;
  return {
    id: instanceIdOf(container),
    ...deriveState(container, options),
    address: hostAddress(container, options.network),
    ...(started && !started.startsWith('0001-') ? { startedAt: started } : {}),
    containerId: container.Id,
  };
}

/** `KEY=value` lines of a container's environment → the value of one key. */
export function envValue(container: InspectedContainer, key: string): string | undefined {
  const line = container.Config?.Env?.find((e) => e.startsWith(`${key}=`));
  return line?.slice(key.length + 1);
}

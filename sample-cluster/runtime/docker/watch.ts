/**
 * The engine's event stream for one cluster, as instance state changes: every start, death, kill,
 * pause, health transition and network cut of a labelled container reaches the listener as soon as
 * the engine reports it (no polling). The stream reconnects after an engine restart and resumes
 * from the last event seen, so nothing in between is lost.
 */
import type Docker from 'dockerode';
import type { ServiceName } from '../../cluster.ts';
import type { InstanceStatus } from '../types.ts';
import { LABEL, labelFilter } from './labels.ts';

export interface ContainerEvent {
  /** What the engine reported: start, die, kill, stop, pause, unpause, health_status: healthy, disconnect … */
  readonly action: string;
  readonly service: ServiceName;
  readonly instanceId: string;
  readonly containerId: string;
  /** The engine's time of the event, ISO 8601. */
  readonly at: string;
  /** The instance as it is right after the event (no /readyz probe: the engine's health). */
  readonly instance?: InstanceStatus;
  /** For kill events: the signal sent. */
  readonly signal?: string;
}

export interface WatchHandle {
  close(): void;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  timeNano?: number;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const INTERESTING = new Set([
  'create',
  'start',
  'restart',
  'die',
  'kill',
  'stop',
  'pause',
  'unpause',
  'oom',
  'destroy',
  'health_status: healthy',
  'health_status: unhealthy',
  'connect',
  'disconnect',
]);

export interface WatchOptions {
  readonly docker: Docker;
  readonly clusterId: string;
  readonly network: string;
  /** Container id → service and instance, for network events (which carry no container labels). */
  readonly identify: (containerId: string) => Promise<{ service: ServiceName; instanceId: string } | null>;
  /** The instance after the event, or undefined when the container is gone. */
  readonly describe: (containerId: string) => Promise<InstanceStatus | undefined>;
  readonly onEvent: (event: ContainerEvent) => void;
  readonly onError?: (error: Error) => void;
}

export function watchCluster(options: WatchOptions): WatchHandle {
  let closed = false;
  const streams = new Set<NodeJS.ReadableStream & { destroy?: () => void }>();
  // Set after the first event: a reconnect resumes from there (a repeat within that second is harmless).
  let since: number | undefined;

  const handle = async (raw: RawEvent) => {
    const action = raw.Action ?? '';
    if (!INTERESTING.has(action)) return;
    const at = raw.timeNano ? new Date(raw.timeNano / 1e6).toISOString() : new Date().toISOString();
    if (raw.time) since = Math.max(since ?? 0, raw.time);
    const attributes = raw.Actor?.Attributes ?? {};
    let containerId = raw.Actor?.ID ?? '';
    let service = attributes[LABEL.service] as ServiceName | undefined;
    let instanceId = attributes[LABEL.instance];
    if (raw.Type === 'network') {
      containerId = attributes.container ?? '';
      const who = containerId ? await options.identify(containerId) : null;
      if (!who) return;
      ({ service, instanceId } = who);
    }
    if (!service || !instanceId || !containerId) return;
    const instance =
      action === 'destroy' ? undefined : await options.describe(containerId).catch(() => undefined);
    options.onEvent({
      action,
      service,
      instanceId,
      containerId,
      at,
      ...(instance ? { instance } : {}),
      ...(action === 'kill' && attributes.signal ? { signal: signalName(attributes.signal) } : {}),
    });
  };

  const open = async (filters: Record<string, string[]>) => {
    while (!closed) {
      try {
        const stream = (await options.docker.getEvents({
          ...(since !== undefined ? { since } : {}),
          filters,
        })) as NodeJS.ReadableStream & { destroy?: () => void };
        streams.add(stream);
        if (closed) stream.destroy?.();
        let buffer = '';
        // Events are handled one after another, so a listener sees them in the engine's order.
        let queue = Promise.resolve();
        await new Promise<void>((resolve) => {
          stream.on('data', (chunk: Buffer) => {
            buffer += chunk.toString('utf8');
            let end: number;
            while ((end = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, end).trim();
              buffer = buffer.slice(end + 1);
              if (!line) continue;
              let raw: RawEvent;
              try {
                raw = JSON.parse(line) as RawEvent;
              } catch {
                continue;
              }
              queue = queue
                .then(() => handle(raw))
                .catch((error: unknown) => options.onError?.(error as Error));
            }
          });
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', resolve);
        });
        streams.delete(stream);
      } catch (error) {
        options.onError?.(error as Error);
      }
      // The engine went away (or restarted): try again shortly, from the last event seen.
      if (!closed) await new Promise((r) => setTimeout(r, 1_000));
    }
  };

  void open({ type: ['container'], ...labelFilter({ [LABEL.cluster]: options.clusterId }) });
  void open({ type: ['network'], network: [options.network] });

  return {
    close() {
      closed = true;
      for (const stream of streams) stream.destroy?.();
      streams.clear();
    },
  };
}

/** The engine reports kill signals as numbers ("9") or names ("SIGKILL") depending on the caller. */
function signalName(value: string): string {
  const n = Number(value);
  if (!Number.isInteger(n)) return value.startsWith('SIG') ? value : `SIG${value}`;
  const names: Record<number, string> = {
    1: 'SIGHUP',
    2: 'SIGINT',
    3: 'SIGQUIT',
    9: 'SIGKILL',
    15: 'SIGTERM',
    19: 'SIGSTOP',
    18: 'SIGCONT',
    10: 'SIGUSR1',
    12: 'SIGUSR2',
  };
  return names[n] ?? `signal ${n}`;
}

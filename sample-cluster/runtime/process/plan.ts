/**
 * The decisions of the process runtime that need no processes: which services an `up` starts, the
 * order `down` stops them in, the environment an instance gets, and how a record plus what the OS
 * says becomes a state. Kept pure so they are tested without spawning anything.
 */
import { startOrder, type InstanceEnv, type ServiceName, type ServiceSpec } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';
import type { InstanceHealth, InstanceState } from '../types.ts';
import type { InstanceRecord, ServiceRecord } from './state.ts';

/**
 * The requested services (default: every non-optional one; optional ones such as loadgen only with
 * `withLoadgen`) plus everything they depend on, in start order.
 */
export function selectServices(
  specs: readonly ServiceSpec[],
  options: { services?: readonly ServiceName[]; withLoadgen?: boolean } = {},
): ServiceSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const requested = options.services?.length
    ? [...options.services]
    : specs.filter((s) => !s.optional).map((s) => s.name);
  if (options.withLoadgen) requested.push(...specs.filter((s) => s.optional).map((s) => s.name));
  const chosen = new Set<ServiceName>();
  const visit = (name: ServiceName, requiredBy?: ServiceName) => {
    if (chosen.has(name)) return;
    const spec = byName.get(name);
    if (!spec) {
      const known = specs.map((s) => s.name).join(', ');
      throw new RuntimeError(
        'UNKNOWN_SERVICE',
        requiredBy
          ? `${requiredBy} depends on "${name}", which this cluster does not have`
          : `unknown service "${name}"; valid: ${known}`,
      );
    }
    chosen.add(name);
    for (const dependency of spec.dependsOn) visit(dependency, name);
  };
  for (const name of requested) visit(name);
  return startOrder(specs.filter((s) => chosen.has(s.name)));
}

/**
 * Groups to stop one after another, dependents first (reverse start order), so each service can
 * still deregister from the registry and drain calls to what it depends on. Within a group nothing
 * depends on anything else, so a group stops concurrently.
 */
export function stopWaves(services: readonly Pick<ServiceRecord, 'name' | 'dependsOn'>[]): ServiceName[][] {
  const remaining = new Map(services.map((s) => [s.name, s]));
  const waves: ServiceName[][] = [];
  while (remaining.size > 0) {
    const wave = [...remaining.keys()].filter(
      (name) =>
        ![...remaining.values()].some((other) => other.name !== name && other.dependsOn.includes(name)),
    );
    // A cycle cannot come from startOrder, but a hand-edited state file must not hang `down`.
    const next = wave.length > 0 ? wave : [...remaining.keys()];
    for (const name of next) remaining.delete(name);
    waves.push(next);
  }
  return waves;
}

/** Variables worth passing on from the caller's environment; the rest stays out of the services. */
const INHERITED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'NODE_EXTRA_CA_CERTS',
];

export function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (INHERITED.includes(name) || name.startsWith('OTEL_'))) out[name] = value;
  }
  return out;
}

export function instanceEnv(input: {
  clusterId: string;
  service: ServiceName;
  instanceId: string;
  host: string;
  port: number;
  dataDir: string;
  registryPort: number;
  gatewayPort: number;
  adminToken: string;
  logLevel: string;
}): InstanceEnv {
  return {
    CHAOSCOPE_CLUSTER_ID: input.clusterId,
    CHAOSCOPE_SERVICE: input.service,
    CHAOSCOPE_INSTANCE_ID: input.instanceId,
    HOST: input.host,
    PORT: String(input.port),
    ADVERTISE_ADDRESS: `${input.host}:${input.port}`,
    DATA_DIR: input.dataDir,
    REGISTRY_URL: `http://${input.host}:${input.registryPort}`,
    ADMIN_TOKEN: input.adminToken,
    DISCOVERY: 'registry',
    PUBLIC_URL: `http://${input.host}:${input.gatewayPort}`,
    LOG_LEVEL: input.logLevel,
  };
}

/**
 * What a user should see for an instance, from its record, whether its process is alive, and
 * (when alive) whether it answered /readyz. A live process that answers is running even if the
 * `up` that started it died before noting its readiness.
 */
export function deriveInstanceState(
  record: Pick<InstanceRecord, 'pid' | 'readyAt' | 'desired' | 'killed'>,
  alive: boolean,
  ready: boolean,
): { state: InstanceState; health: InstanceHealth } {
  if (alive)
    return {
      state: ready || record.readyAt ? 'running' : 'starting',
      health: ready ? 'healthy' : 'unhealthy',
    };
  if (record.pid === null || record.desired === 'stopped') return { state: 'stopped', health: 'unknown' };
  return { state: record.killed ? 'killed' : 'exited', health: 'unknown' };
}

/** Signals after which a process is expected to be gone (the others pause, resume or wake it). */
const NON_TERMINATING = new Set<string>([
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGCONT',
  'SIGCHLD',
  'SIGWINCH',
  'SIGURG',
  'SIGUSR1',
]);

export function isTerminatingSignal(signal: string): boolean {
  return !NON_TERMINATING.has(signal);
}

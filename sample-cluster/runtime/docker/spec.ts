/**
 * What a service instance looks like as a container: its environment (the InstanceEnv contract),
 * command, limits, health check, ports, mounts, network aliases and labels. Pure, so every rule
 * here (no socket mount, never root, memory limit from cluster.ts, loopback-only ports) is tested
 * without an engine.
 *
 * Addresses: every service listens on SERVICE_PORT inside its own network namespace and registers
 * `<instance-id>:<port>`, a name Docker's DNS resolves on the cluster network (each instance has
 * its id and its service name as aliases, so DNS discovery works too). For the host, each instance
 * publishes that port on 127.0.0.1 at a port chosen once and kept across restarts: the control
 * plane's admin client and tests reach `127.0.0.1:<port>`, which also works on Docker Desktop,
 * where container IPs are not routable from the host.
 */
import { SERVICE_NODE_FLAGS } from '../node-flags.ts';
import type Docker from 'dockerode';
import type { InstanceEnv, ServiceName, ServiceSpec } from '../../cluster.ts';
import { APP_DIR, DATA_DIR, SERVICE_PORT, SERVICE_USER } from '../images/build.ts';
import { trustEnv, type ClusterTrust } from '../pki.ts';
import { LABEL, names } from './labels.ts';

export const LOOPBACK = '127.0.0.1';
/** What containers call the host by; mapped to the bridge gateway with `host-gateway`. */
export const HOST_ALIAS = 'host.docker.internal';
export const RELAY_ENTRY = 'chaoscope-relay';
/** The mutual-TLS listener of every trusted service: one fixed port, as DNS discovery expects. */
export const SERVICE_TLS_PORT = 8443;
const MiB = 1024 * 1024;

export interface ClusterFacts {
  readonly clusterId: string;
  readonly homeHash: string;
  readonly network: string;
  readonly image: string;
  readonly adminToken: string;
  /** Host port the gateway is published on; PUBLIC_URL is http://127.0.0.1:<it>. */
  readonly gatewayPort: number;
  readonly logLevel: string;
  /** Settings from the caller (telemetry endpoints, gateway rate limits …), per service. */
  readonly serviceEnv: Partial<Record<ServiceName, Record<string, string>>>;
  /** OTEL_* and similar from the caller's own environment, passed to every service. */
  readonly inheritedEnv: Readonly<Record<string, string>>;
  /** The cluster CA and enrollment secret (runtime/pki.ts). */
  readonly trust: ClusterTrust;
}

export interface InstancePlan {
  readonly spec: ServiceSpec;
  readonly instanceId: string;
  /** 127.0.0.1:<hostPort> → the instance's SERVICE_PORT. */
  readonly hostPort: number;
}

export function instanceEnv(facts: ClusterFacts, plan: InstancePlan): InstanceEnv {
  return {
    CHAOSCOPE_CLUSTER_ID: facts.clusterId,
    CHAOSCOPE_SERVICE: plan.spec.name,
    CHAOSCOPE_INSTANCE_ID: plan.instanceId,
    HOST: '0.0.0.0',
    PORT: String(SERVICE_PORT),
    ADVERTISE_ADDRESS: `${plan.instanceId}:${SERVICE_PORT}`,
    DATA_DIR,
    REGISTRY_URL: `http://registry:${SERVICE_PORT}`,
    ADMIN_TOKEN: facts.adminToken,
    DISCOVERY: 'registry',
    PUBLIC_URL: `http://${LOOPBACK}:${facts.gatewayPort}`,
    LOG_LEVEL: facts.logLevel,
  };
}

/**
 * A URL aimed at this machine's loopback means the host; inside a container loopback is the
 * container itself, so the host part becomes host.docker.internal (the bridge gateway). The
 * host-side listener must then accept connections from the bridge, not only from 127.0.0.1.
 */
export function hostUrlForContainers(value: string): string {
  return value.replace(
    /^(\w+:\/\/)(?:localhost|127\.0\.0\.1|\[::1\])(?=[:/]|$)/i,
    (_, scheme: string) => `${scheme}${HOST_ALIAS}`,
  );
}

/** The caller's variables worth passing on: telemetry settings, with loopback URLs mapped. */
export function inheritedContainerEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (name.startsWith('OTEL_') || name === 'TZ'))
      out[name] = hostUrlForContainers(value);
  }
  return out;
}

/** Settings first, the contract last: a setting can never move a service off its address. */
export function containerEnv(facts: ClusterFacts, plan: InstancePlan): string[] {
  const settings = Object.fromEntries(
    Object.entries({ ...facts.inheritedEnv, ...facts.serviceEnv[plan.spec.name] }).map(([k, v]) => [
      k,
      hostUrlForContainers(v),
    ]),
  );
  const env: Record<string, string> = {
    ...settings,
    ...trustEnv(facts.trust, plan.spec.name, { tlsPort: SERVICE_TLS_PORT }),
    ...instanceEnv(facts, plan),
    // DNS discovery: the service name is a network alias of each of its instances.
    DNS_HOST_TEMPLATE: '{service}',
    DNS_PORT: String(SERVICE_PORT),
  };
  if (plan.spec.name === 'loadgen') {
    // loadgen calls PUBLIC_URL (127.0.0.1:<gateway port>), the issuer every token names; in its
    // container a relay listens there and forwards to the gateway on the cluster network.
    env.CHAOSCOPE_RELAY = `${LOOPBACK}:${facts.gatewayPort}=gateway:${SERVICE_PORT}`;
  }
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/**
 * The health check the engine runs (Node itself: the image has no shell or curl). Generous times:
 * each check starts a Node process, which on a busy 2-core machine takes seconds, and whose memory
 * counts against the service's limit while it runs (hence the small heap).
 */
export function healthcheck(): Docker.HealthConfig {
  const probe = `fetch('http://127.0.0.1:${SERVICE_PORT}/readyz',{signal:AbortSignal.timeout(8000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))`;
  return {
    Test: ['CMD', 'node', '--max-old-space-size=16', '-e', probe],
    Interval: 10_000_000_000,
    Timeout: 10_000_000_000,
    Retries: 3,
    StartPeriod: 60_000_000_000,
  };
}

export function instanceLabels(facts: ClusterFacts, plan: InstancePlan): Record<string, string> {
  return {
    [LABEL.cluster]: facts.clusterId,
    [LABEL.service]: plan.spec.name,
    [LABEL.instance]: plan.instanceId,
    [LABEL.home]: facts.homeHash,
    [LABEL.runtime]: 'docker',
  };
}

/** How a service starts in the image; the loadgen also loads the telemetry relay first. */
export function serviceCommand(spec: Pick<ServiceSpec, 'name'>): string[] {
  return [
    'node',
    ...SERVICE_NODE_FLAGS,
    ...(spec.name === 'loadgen' ? [`--import=${APP_DIR}/${RELAY_ENTRY}.mjs`] : []),
    `${APP_DIR}/${spec.name}.mjs`,
  ];
}

export function containerCreateOptions(
  facts: ClusterFacts,
  plan: InstancePlan,
): Docker.ContainerCreateOptions {
  const { spec, instanceId } = plan;
  const memory = spec.memoryMb * MiB;
  const port = `${SERVICE_PORT}/tcp`;
  return {
    name: names.container(facts.clusterId, instanceId),
    Image: facts.image,
    Cmd: serviceCommand(spec),
    Env: containerEnv(facts, plan),
    Labels: instanceLabels(facts, plan),
    Hostname: instanceId,
    User: SERVICE_USER,
    WorkingDir: APP_DIR,
    ExposedPorts: { [port]: {} },
    Healthcheck: healthcheck(),
    StopSignal: 'SIGTERM',
    StopTimeout: 10,
    HostConfig: {
      // Memory budget from cluster.ts, and no swap beyond it.
      Memory: memory,
      MemorySwap: memory,
      PortBindings: { [port]: [{ HostIp: LOOPBACK, HostPort: String(plan.hostPort) }] },
      // Only the service's own volume; never the Docker socket or any host path.
      Mounts: spec.stateful
        ? [
            {
              Type: 'volume',
              Source: names.volume(facts.clusterId, spec.name),
              Target: DATA_DIR,
            },
          ]
        : [],
      ExtraHosts: [`${HOST_ALIAS}:host-gateway`],
      // Nothing restarts a service by itself: chaos must stay visible.
      RestartPolicy: { Name: 'no' },
      // tini as PID 1: signals reach Node with their default meaning, zombies are reaped.
      Init: true,
      NetworkMode: facts.network,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    },
    NetworkingConfig: {
      EndpointsConfig: { [facts.network]: { Aliases: networkAliases(plan) } },
    },
  };
}

export function networkAliases(
  plan: Pick<InstancePlan, 'instanceId'> & { spec: Pick<ServiceSpec, 'name'> },
): string[] {
  return [plan.instanceId, plan.spec.name];
}

/** `timeline-3` → 3; anything else → null. */
export function instanceOrdinal(service: string, instanceId: string): number | null {
  const match = new RegExp(`^${service}-(\\d+)$`).exec(instanceId);
  return match ? Number(match[1]) : null;
}

/** The lowest free ordinals, so scaling 3 → 1 → 2 gives back `-2` rather than `-4`. */
export function nextInstanceIds(service: string, existing: readonly string[], count: number): string[] {
  const taken = new Set(existing.map((id) => instanceOrdinal(service, id)).filter((n) => n !== null));
  const ids: string[] = [];
  for (let n = 1; ids.length < count; n++) if (!taken.has(n)) ids.push(`${service}-${n}`);
  return ids;
}

/**
 * The tweet cluster in one place: which services exist, what they need, the order they start in,
 * and the environment contract every runtime (process, docker, swarm) must honour.
 */
export const SERVICE_NAMES = [
  'registry',
  'auth',
  'users',
  'tweets',
  'timeline',
  'realtime',
  'gateway',
  'loadgen',
] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceSpec {
  readonly name: ServiceName;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Services that must be healthy before this one starts. */
  readonly dependsOn: readonly ServiceName[];
  /** Whether the service keeps data on disk (a volume in container runtimes). */
  readonly stateful: boolean;
  /** Memory budget; the whole cluster must stay well under 1 GB resident at idle. */
  readonly memoryMb: number;
  /** A port users reach from outside the cluster; others get a free loopback port. */
  readonly publicPort?: number;
  /** Started only when traffic is wanted. */
  readonly optional?: boolean;
}

const entry = (name: ServiceName): string => `sample-cluster/services/${name}/main.ts`;

export const CLUSTER_SPEC: readonly ServiceSpec[] = [
  { name: 'registry', entry: entry('registry'), dependsOn: [], stateful: true, memoryMb: 96 },
  // Each password hash (scrypt N=2^14) takes 16 MiB for its run: sign-ups and logins in parallel
  // beside oidc-provider pushed a 160 MB container into the OOM killer (CI, Docker scenarios).
  { name: 'auth', entry: entry('auth'), dependsOn: ['registry'], stateful: true, memoryMb: 224 },
  // Every trusted service enrolls at auth (the CA's signing service) before it can call or be called.
  { name: 'users', entry: entry('users'), dependsOn: ['registry', 'auth'], stateful: true, memoryMb: 112 },
  { name: 'tweets', entry: entry('tweets'), dependsOn: ['registry', 'auth'], stateful: true, memoryMb: 112 },
  {
    name: 'timeline',
    entry: entry('timeline'),
    dependsOn: ['registry', 'auth', 'users'],
    stateful: true,
    memoryMb: 112,
  },
  {
    name: 'realtime',
    entry: entry('realtime'),
    dependsOn: ['registry', 'auth', 'users'],
    stateful: false,
    memoryMb: 112,
  },
  {
    name: 'gateway',
    entry: entry('gateway'),
    dependsOn: ['registry', 'auth', 'users', 'tweets', 'timeline', 'realtime'],
    stateful: false,
    memoryMb: 160,
    publicPort: 8080,
  },
  {
    name: 'loadgen',
    entry: entry('loadgen'),
    dependsOn: ['gateway'],
    stateful: false,
    memoryMb: 128,
    optional: true,
  },
];

export function serviceSpec(name: ServiceName): ServiceSpec {
  const spec = CLUSTER_SPEC.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown service "${name}"`);
  return spec;
}

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

/** Services sorted so that each comes after everything it depends on. */
export function startOrder(specs: readonly ServiceSpec[] = CLUSTER_SPEC): ServiceSpec[] {
  const done = new Set<ServiceName>();
  const order: ServiceSpec[] = [];
  const pending = [...specs];
  while (pending.length > 0) {
    const index = pending.findIndex((s) =>
      s.dependsOn.every((d) => done.has(d) || !specs.some((x) => x.name === d)),
    );
    if (index < 0) throw new Error(`dependency cycle among ${pending.map((s) => s.name).join(', ')}`);
    const [next] = pending.splice(index, 1);
    if (!next) break;
    order.push(next);
    done.add(next.name);
  }
  return order;
}

/**
 * The environment every service instance receives. Runtimes fill it; the kit validates it
 * (sample-cluster/kit/config.ts), so a runtime that forgets a variable fails loudly at start.
 */
export interface InstanceEnv {
  CHAOSCOPE_CLUSTER_ID: string;
  CHAOSCOPE_SERVICE: ServiceName;
  CHAOSCOPE_INSTANCE_ID: string;
  /** Interface to listen on. */
  HOST: string;
  PORT: string;
  /** host:port other services use to reach this instance (what it registers). */
  ADVERTISE_ADDRESS: string;
  DATA_DIR: string;
  REGISTRY_URL: string;
  /** Cluster admin credential made at `up`; guards every /admin route. */
  ADMIN_TOKEN: string;
  DISCOVERY: 'registry' | 'dns';
  /** The gateway's public URL: the OAuth issuer and the loadgen's target. */
  PUBLIC_URL: string;
  LOG_LEVEL: string;
}

/**
 * Trust between services (sample-cluster/kit/trust), for auth, users, tweets, timeline, realtime
 * and gateway; runtime/pki.ts `trustEnv()` computes them from the cluster's trust material.
 * Without TRUST_CA_CERT a service runs unguarded (only single-service unit tests do that).
 */
export interface InstanceTrustEnv {
  /** The cluster CA certificate (PEM). */
  TRUST_CA_CERT: string;
  /** This instance's enrollment credential at auth: an HMAC of its service name. */
  TRUST_ENROLL_TOKEN: string;
  /** Port of the mutual-TLS listener; "0" picks a free one (published in the registry as meta.tls). */
  TRUST_TLS_PORT: string;
  /** Certificate lifetime asked for (default 3600; 300 is the demo setting). */
  TRUST_CERT_TTL_SECONDS?: string;
  /** auth only: the CA private key (PEM); auth is the CA's signing service. */
  TRUST_CA_KEY?: string;
  /** auth only: the secret behind every enrollment credential. */
  TRUST_ENROLL_SECRET?: string;
  /** auth only: the service-to-service mode of a new cluster (mtls | jwt-secret | oauth). */
  TRUST_MODE?: string;
}

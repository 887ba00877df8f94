/**
 * The cluster's trust material, made at `up`: the cluster CA (key and certificate) and the secret
 * behind every instance's enrollment credential. Kept under the cluster's directory, readable by
 * the user alone (0600 files in a 0700 directory), removed at `down`: every cluster gets its own CA.
 *
 * Why auth signs the certificates and not the runtime: certificates live an hour (five minutes in
 * the demo setting) and are renewed at half-life while the cluster runs detached, with no control
 * plane around; and a revoked instance must be able to re-enroll. So the runtime only makes the
 * CA and hands its key to auth alone; each instance gets a credential good for its own service.
 * Every runtime (process, docker, swarm) passes the same variables (see InstanceEnv in cluster.ts).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceName } from '../cluster.ts';
import { enrollmentToken } from '../kit/trust/enrollment.ts';
import type { TrustMode } from '../kit/trust/identity.ts';
import {
  createCa,
  generateKeyPair,
  issueServiceCertificate,
  loadCa,
  privateKeyPem,
} from '../kit/trust/x509.ts';

export interface ClusterTrust {
  readonly clusterId: string;
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly enrollSecret: string;
}

/** Services that take part in service-to-service trust (the registry is the discovery plane, loadgen a public client). */
export const TRUSTED_SERVICES: readonly ServiceName[] = [
  'auth',
  'users',
  'tweets',
  'timeline',
  'realtime',
  'gateway',
];

export function trustDir(clusterDir: string): string {
  return join(clusterDir, 'trust');
}

/** The cluster's CA and enrollment secret: made on first call, read back afterwards. */
export async function ensureClusterTrust(dir: string, clusterId: string): Promise<ClusterTrust> {
  const file = join(dir, 'trust.json');
  try {
    const existing = JSON.parse(await readFile(file, 'utf8')) as ClusterTrust;
    if (existing.clusterId === clusterId && existing.caKeyPem && existing.enrollSecret) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const ca = await createCa(clusterId);
  const trust: ClusterTrust = {
    clusterId,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    enrollSecret: randomBytes(32).toString('base64url'),
  };
  await writeFile(file, `${JSON.stringify(trust, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  // The public certificate on its own, for tools (curl --cacert) and people.
  await writeFile(join(dir, 'ca.crt'), ca.certPem, { mode: 0o644 });
  return trust;
}

export async function removeClusterTrust(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * The trust variables of one instance. Only auth receives the CA key and the enrollment secret;
 * every other service gets the CA certificate and a credential for its own name.
 */
export function trustEnv(
  trust: ClusterTrust,
  service: ServiceName,
  options: { tlsPort?: number; mode?: TrustMode; certTtlSeconds?: number } = {},
): Record<string, string> {
  if (!TRUSTED_SERVICES.includes(service)) return {};
  const env: Record<string, string> = {
    TRUST_CA_CERT: trust.caCertPem,
    TRUST_ENROLL_TOKEN: enrollmentToken(trust.enrollSecret, trust.clusterId, service),
    TRUST_TLS_PORT: String(options.tlsPort ?? 0),
  };
  if (options.certTtlSeconds) env.TRUST_CERT_TTL_SECONDS = String(options.certTtlSeconds);
  if (service === 'auth') {
    env.TRUST_CA_KEY = trust.caKeyPem;
    env.TRUST_ENROLL_SECRET = trust.enrollSecret;
    if (options.mode) env.TRUST_MODE = options.mode;
  }
  return env;
}

/**
 * A certificate from the cluster CA outside enrollment (tests: an expired one, one for a service
 * that is not running). Returns PEMs ready for a TLS client.
 */
export async function issueCertificate(
  trust: ClusterTrust,
  request: { service: string; instanceId?: string; notBefore?: Date; notAfter: Date },
): Promise<{ cert: string; key: string; serial: string }> {
  const keys = await generateKeyPair();
  const issued = await issueServiceCertificate(
    await loadCa({ certPem: trust.caCertPem, keyPem: trust.caKeyPem }),
    {
      service: request.service,
      instanceId: request.instanceId ?? `${request.service}-tool`,
      publicKey: keys.publicKey,
      notAfter: request.notAfter,
      ...(request.notBefore ? { notBefore: request.notBefore } : {}),
    },
  );
  return { cert: issued.pem, key: await privateKeyPem(keys.privateKey), serial: issued.serial };
}

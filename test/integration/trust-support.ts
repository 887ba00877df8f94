/**
 * What the trust tests need beside the cluster: its trust material (read from the cluster's home,
 * as an operator could), the auth admin client, instance TLS addresses from the registry, and TLS
 * clients holding chosen certificates (a service's, a foreign CA's, an expired one).
 */
import { Agent, request } from 'undici';
import { enrollmentToken } from '../../sample-cluster/kit/trust/enrollment.ts';
import { TLS_META_KEY } from '../../sample-cluster/kit/trust/protocol.ts';
import { exportPublicJwk, generateKeyPair, privateKeyPem } from '../../sample-cluster/kit/trust/x509.ts';
import type { ServiceName } from '../../sample-cluster/cluster.ts';
import { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { ensureClusterTrust, trustDir, type ClusterTrust } from '../../sample-cluster/runtime/pki.ts';
import type { TestCluster } from './cluster.ts';

export async function clusterTrust(cluster: TestCluster): Promise<ClusterTrust> {
  const { clusterId } = await cluster.status();
  return ensureClusterTrust(trustDir(cluster.runtime.paths.dir), clusterId);
}

export async function authAdmin(cluster: TestCluster): Promise<AuthAdminClient> {
  return new AuthAdminClient({
    address: (await cluster.instance('auth')).address,
    token: cluster.adminToken,
  });
}

/** Where a service's mutual-TLS listener is, as the registry publishes it. */
export async function tlsAddress(cluster: TestCluster, service: ServiceName): Promise<string> {
  const registry = (await cluster.instance('registry')).address;
  const response = await request(`http://${registry}/v1/services/${service}`);
  const body = (await response.body.json()) as { instances: Array<{ meta: Record<string, string> }> };
  const address = body.instances[0]?.meta[TLS_META_KEY];
  if (!address) throw new Error(`${service} publishes no TLS address`);
  return address;
}

export interface ClientIdentity {
  readonly cert?: string;
  readonly key?: string;
  readonly ca: string;
}

/** A TLS client presenting `identity` (or no certificate at all). Host names are not checked: IPs. */
export function tlsAgent(identity: ClientIdentity): Agent {
  return new Agent({
    connect: {
      ca: [identity.ca],
      ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}),
      checkServerIdentity: () => undefined,
      timeout: 5_000,
    },
  });
}

export type Outcome = { status: number; body: string } | { error: string };

/** One call; a refused handshake or a cut connection is an outcome too, not a throw. */
export async function callOver(
  agent: Agent,
  url: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  try {
    const response = await request(url, {
      method: init.method ?? 'GET',
      dispatcher: agent,
      headers: {
        ...init.headers,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.statusCode, body: await response.body.text() };
  } catch (error) {
    const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    return { error: e.cause?.code ?? e.code ?? e.message ?? String(error) };
  }
}

/** Enroll at auth as an instance of `service`, the way the kit does; returns PEMs and the serial. */
export async function enrollAs(
  cluster: TestCluster,
  trust: ClusterTrust,
  service: string,
): Promise<{ cert: string; key: string; serial: string }> {
  const keys = await generateKeyPair();
  const agent = tlsAgent({ ca: trust.caCertPem });
  try {
    const outcome = await callOver(agent, `https://${await tlsAddress(cluster, 'auth')}/trust/enroll`, {
      method: 'POST',
      body: {
        service,
        instanceId: `${service}-test-tool`,
        publicKey: await exportPublicJwk(keys.publicKey),
        token: enrollmentToken(trust.enrollSecret, trust.clusterId, service),
        ttlSeconds: 600,
      },
    });
    if (!('status' in outcome) || outcome.status !== 200)
      throw new Error(`enrollment failed: ${JSON.stringify(outcome)}`);
    const answer = JSON.parse(outcome.body) as { certificate: string; serial: string };
    return { cert: answer.certificate, key: await privateKeyPem(keys.privateKey), serial: answer.serial };
  } finally {
    await agent.close();
  }
}

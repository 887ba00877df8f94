/**
 * Mutual TLS between services, against the real cluster: every internal listener refuses a caller
 * without a cluster certificate, with one from another CA, an expired one, or a revoked one; the
 * policy refuses a valid certificate of a service not allowed on the route; certificates rotate
 * under load without failing a request; a withdrawn service certificate is refused by its peers
 * and replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa } from '../../sample-cluster/kit/trust/x509.ts';
import type { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { issueCertificate, type ClusterTrust } from '../../sample-cluster/runtime/pki.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually } from './http.ts';
import { login } from './oauth-client.ts';
import {
  authAdmin,
  callOver,
  clusterTrust,
  enrollAs,
  tlsAddress,
  tlsAgent,
  type Outcome,
} from './trust-support.ts';

let cluster: TestCluster;
let trust: ClusterTrust;
let admin: AuthAdminClient;
let tweetsTls: string;

beforeAll(async () => {
  cluster = await startCluster();
  trust = await clusterTrust(cluster);
  admin = await authAdmin(cluster);
  tweetsTls = await tlsAddress(cluster, 'tweets');
});
afterAll(async () => {
  await cluster?.stop();
});

const refused = (o: Outcome) => 'error' in o || o.status === 401 || o.status === 403;

async function readTweets(identity: { cert?: string; key?: string; ca: string }): Promise<Outcome> {
  const agent = tlsAgent(identity);
  try {
    return await callOver(agent, `https://${tweetsTls}/v1/tweets?author=nobody`);
  } finally {
    await agent.destroy();
  }
}

describe('mutual TLS at an internal listener', () => {
  it('runs in the mtls mode by default and every trusted instance holds a certificate', async () => {
    expect((await admin.mode()).mode).toBe('mtls');
    for (const service of ['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway'] as const) {
      const status = await admin.trustStatus((await cluster.instance(service)).address);
      expect(status.certificate, service).not.toBeNull();
      expect(status.mode, service).toBe('mtls');
    }
  });

  it('accepts a cluster certificate of an allowed caller (the gateway)', async () => {
    const gateway = await enrollAs(cluster, trust, 'gateway');
    const outcome = await readTweets({ ...gateway, ca: trust.caCertPem });
    expect(outcome).toMatchObject({ status: 200 });
  });

  it('refuses a caller without a certificate', async () => {
    const outcome = await readTweets({ ca: trust.caCertPem });
    expect('error' in outcome, JSON.stringify(outcome)).toBe(true);
  });

  it('refuses a certificate from another CA', async () => {
    const foreign = await createCa('someone-else');
    const forged = await issueCertificate(
      { clusterId: 'x', caCertPem: foreign.certPem, caKeyPem: foreign.keyPem, enrollSecret: 'x'.repeat(43) },
      { service: 'gateway', notAfter: new Date(Date.now() + 3_600_000) },
    );
    const outcome = await readTweets({ cert: forged.cert, key: forged.key, ca: trust.caCertPem });
    expect('error' in outcome, JSON.stringify(outcome)).toBe(true);
  });

  it('refuses an expired cluster certificate', async () => {
    const expired = await issueCertificate(trust, {
      service: 'gateway',
      notBefore: new Date(Date.now() - 7_200_000),
      notAfter: new Date(Date.now() - 3_600_000),
    });
    const outcome = await readTweets({ cert: expired.cert, key: expired.key, ca: trust.caCertPem });
    expect('error' in outcome, JSON.stringify(outcome)).toBe(true);
  });

  it('refuses a revoked certificate, and cuts its open connection', async () => {
    const gateway = await enrollAs(cluster, trust, 'gateway');
    const agent = tlsAgent({ ...gateway, ca: trust.caCertPem });
    try {
      expect(await callOver(agent, `https://${tweetsTls}/v1/tweets?author=nobody`)).toMatchObject({
        status: 200,
      });
      expect(await admin.revokeCertificate({ serial: gateway.serial })).toEqual([gateway.serial]);
      const after = await eventually(
        () => callOver(agent, `https://${tweetsTls}/v1/tweets?author=nobody`),
        refused,
        5_000,
        50,
      );
      expect(refused(after), JSON.stringify(after)).toBe(true);
    } finally {
      await agent.destroy();
    }
    const fresh = await readTweets({ ...gateway, ca: trust.caCertPem });
    expect(refused(fresh), JSON.stringify(fresh)).toBe(true);
  });

  it('refuses a valid certificate of a service the policy does not allow on the route', async () => {
    const timeline = await enrollAs(cluster, trust, 'timeline');
    const agent = tlsAgent({ ...timeline, ca: trust.caCertPem });
    try {
      const post = await callOver(agent, `https://${tweetsTls}/v1/tweets`, {
        method: 'POST',
        body: { author: 'mallory', text: 'not from the gateway' },
      });
      expect(post).toMatchObject({ status: 403 });
      expect((post as { body: string }).body).toContain('timeline may not call POST /v1/tweets');
    } finally {
      await agent.destroy();
    }
  });

  it('refuses a plain-HTTP call to an internal route in the mtls mode', async () => {
    const tweets = (await cluster.instance('tweets')).address;
    const answer = await api(`http://${tweets}`, 'GET', '/v1/tweets?author=nobody');
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toContain('Bearer');
  });

  it('refuses enrollment with the credential of another service', async () => {
    const agent = tlsAgent({ ca: trust.caCertPem });
    try {
      const { enrollmentToken } = await import('../../sample-cluster/kit/trust/enrollment.ts');
      const { generateKeyPair, exportPublicJwk } = await import('../../sample-cluster/kit/trust/x509.ts');
      const keys = await generateKeyPair();
      const outcome = await callOver(agent, `https://${await tlsAddress(cluster, 'auth')}/trust/enroll`, {
        method: 'POST',
        body: {
          service: 'gateway',
          instanceId: 'impostor',
          publicKey: await exportPublicJwk(keys.publicKey),
          token: enrollmentToken(trust.enrollSecret, trust.clusterId, 'timeline'),
        },
      });
      expect(outcome).toMatchObject({ status: 403 });
    } finally {
      await agent.destroy();
    }
  });
});

describe('certificates over time', () => {
  it('rotates every certificate under load without failing a request', async () => {
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'rota', password: 'rota-password-1', displayName: 'Rota' },
    });
    const { accessToken } = await login(g, 'rota', 'rota-password-1');
    const failures: string[] = [];
    let done = 0;
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 2 }, async (_, worker) => {
        for (let i = 0; !stop; i++) {
          const answer =
            i % 2 === 0
              ? await api(g, 'GET', '/api/timeline?limit=5', { token: accessToken })
              : await api(g, 'POST', '/api/tweets', {
                  token: accessToken,
                  body: { text: `rotating ${worker}.${i}` },
                });
          if (answer.status >= 400 || (answer.body as { degraded?: boolean }).degraded)
            failures.push(`${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
          done += 1;
          // Paced under the per-user rate limit: a 429 is not what this test is about.
          await new Promise((r) => setTimeout(r, 40));
        }
      }),
    );
    const before = new Map<'auth' | 'users' | 'tweets' | 'timeline' | 'realtime' | 'gateway', string>();
    for (const service of ['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway'] as const) {
      const address = (await cluster.instance(service)).address;
      before.set(service, (await admin.trustStatus(address)).certificate!.serial);
    }
    for (let round = 0; round < 3; round++) {
      for (const service of ['users', 'tweets', 'timeline', 'gateway', 'auth', 'realtime'] as const) {
        const address = (await cluster.instance(service)).address;
        await admin.renewCertificate(address);
      }
    }
    // Keep traffic going a little after the last rotation.
    const target = done + 20;
    await eventually(
      async () => done,
      (n) => n >= target,
      30_000,
      50,
    );
    stop = true;
    await load;
    for (const [service, serial] of before) {
      const now = await admin.trustStatus((await cluster.instance(service)).address);
      expect(now.certificate!.serial, service).not.toBe(serial);
      expect(now.rotations, service).toBeGreaterThanOrEqual(3);
    }
    expect(done).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });

  it('makes peers refuse a revoked service certificate, and the service enrolls again', async () => {
    const users = (await cluster.instance('users')).address;
    const old = (await admin.trustStatus(users)).certificate!.serial;
    await admin.revokeCertificate({ service: 'users' });
    const renewed = await eventually(
      () => admin.trustStatus(users),
      (s) => s.certificate !== null && s.certificate.serial !== old,
      15_000,
    );
    expect(renewed.certificate!.serial).not.toBe(old);
    const certs = await admin.certificates({ service: 'users' });
    expect(certs.find((c) => c.serial === old)?.state).toBe('revoked');
    // Peers learned it: the old serial is on every trusted instance's list.
    const gateway = await admin.trustStatus((await cluster.instance('gateway')).address);
    expect(gateway.revokedCertificates).toBeGreaterThan(0);
    // And the cluster works with the new certificate.
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'after', password: 'after-password-1', displayName: 'After' },
    });
    const { accessToken } = await login(g, 'after', 'after-password-1');
    const profile = await eventually(
      () => api(g, 'GET', '/api/users/after', { token: accessToken }),
      (a) => a.status === 200,
    );
    expect(profile.status).toBe(200);
  });

  it('a forced expiry is refused like a revocation, and the holder takes a new certificate', async () => {
    const timeline = (await cluster.instance('timeline')).address;
    const old = (await admin.trustStatus(timeline)).certificate!.serial;
    expect(await admin.expireCertificate({ serial: old })).toEqual([old]);
    const renewed = await eventually(
      () => admin.trustStatus(timeline),
      (s) => s.certificate !== null && s.certificate.serial !== old,
      15_000,
    );
    expect(renewed.certificate!.serial).not.toBe(old);
    expect((await admin.certificates({ service: 'timeline' })).find((c) => c.serial === old)?.state).toBe(
      'expired',
    );
  });

  it('a revocation with a hold cuts a service off until the hold ends', async () => {
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'held', password: 'held-password-1', displayName: 'Held' },
    });
    const { accessToken } = await login(g, 'held', 'held-password-1');
    const users = (await cluster.instance('users')).address;
    const old = (await admin.trustStatus(users)).certificate!.serial;
    await admin.revokeCertificate({ service: 'users', holdSeconds: 4 });
    // The gateway no longer accepts users' certificate: profiles are unavailable (503), not served.
    const cut = await eventually(
      () => api(g, 'GET', '/api/users/held', { token: accessToken }),
      (a) => a.status >= 500,
      5_000,
      50,
    );
    expect(cut.status).toBeGreaterThanOrEqual(500);
    const back = await eventually(
      () => api(g, 'GET', '/api/users/held', { token: accessToken }),
      (a) => a.status === 200,
      30_000,
      200,
    );
    expect(back.status).toBe(200);
    expect((await admin.trustStatus(users)).certificate!.serial).not.toBe(old);
    const refusedEvents = await admin.events({ kind: 'refused' });
    expect(refusedEvents.some((e) => String(e.attributes.reason).includes('hold'))).toBe(true);
  });
});

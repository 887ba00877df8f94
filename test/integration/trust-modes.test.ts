/**
 * The three service-to-service modes, switched live on one running cluster: each runs the whole
 * user journey; each service follows the switch; a caller proving itself the wrong way, for the
 * wrong callee, or as a service the policy does not allow, is refused; the shared secret rotates
 * under traffic without a failed request.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { enrollmentToken } from '../../sample-cluster/kit/trust/enrollment.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintServiceJwt, type SharedSecret } from '../../sample-cluster/kit/trust/service-jwt.ts';
import type { AuthAdminClient, TrustMode } from '../../sample-cluster/runtime/auth-admin.ts';
import type { ClusterTrust } from '../../sample-cluster/runtime/pki.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually, openStream } from './http.ts';
import { login } from './oauth-client.ts';
import { authAdmin, clusterTrust, enrollAs, tlsAddress, tlsAgent } from './trust-support.ts';

let cluster: TestCluster;
let admin: AuthAdminClient;
let trust: ClusterTrust;
const TRUSTED = ['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway'] as const;

beforeAll(async () => {
  cluster = await startCluster();
  admin = await authAdmin(cluster);
  trust = await clusterTrust(cluster);
});
afterAll(async () => {
  await cluster?.stop();
});

async function switchTo(mode: TrustMode): Promise<void> {
  await admin.setMode(mode);
  for (const service of TRUSTED) {
    const address = (await cluster.instance(service)).address;
    const status = await eventually(
      () => admin.trustStatus(address),
      (s) => s.mode === mode,
      5_000,
      20,
    );
    expect(status.mode, service).toBe(mode);
  }
}

/** The shared secrets, as an enrolled instance hears them on the trust stream. */
async function sharedSecrets(): Promise<SharedSecret[]> {
  const gateway = await enrollAs(cluster, trust, 'gateway');
  const agent = tlsAgent({ ...gateway, ca: trust.caCertPem });
  const abort = new AbortController();
  try {
    const response = await request(`https://${await tlsAddress(cluster, 'auth')}/trust/events`, {
      dispatcher: agent,
      signal: abort.signal,
    });
    let text = '';
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8');
      const end = text.indexOf('\n\n');
      if (end >= 0) {
        const data = text
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data:'))!;
        return (JSON.parse(data.slice(5)) as { secrets: SharedSecret[] }).secrets;
      }
    }
    throw new Error('the stream ended without a state');
  } finally {
    abort.abort();
    await agent.destroy();
  }
}

describe.each(['jwt-secret', 'oauth', 'mtls'] as const)('in the %s mode', (mode) => {
  it('runs the user journey', async () => {
    await switchTo(mode);
    const g = cluster.gateway;
    const [a, b] = [`${mode.replace('-', '')}a`, `${mode.replace('-', '')}b`];
    for (const handle of [a, b])
      expect(
        (
          await api(g, 'POST', '/api/accounts', {
            body: { handle, password: `${handle}-password`, displayName: handle },
          })
        ).status,
      ).toBe(201);
    const alice = await login(g, a, `${a}-password`);
    const bob = await login(g, b, `${b}-password`);
    expect((await api(g, 'PUT', `/api/users/${b}/follow`, { token: alice.accessToken })).status).toBe(204);
    const stream = await openStream(`${g}/api/stream`, alice.accessToken);
    expect(stream.status).toBe(200);
    const posted = await api<{ id: string }>(g, 'POST', '/api/tweets', {
      token: bob.accessToken,
      body: { text: `hello in ${mode}` },
    });
    expect(posted.status).toBe(201);
    const page = await eventually(
      () =>
        api<{ items: Array<{ id: string }>; degraded: boolean }>(g, 'GET', '/api/timeline', {
          token: alice.accessToken,
        }),
      (r) => r.body.items?.some((i) => i.id === posted.body.id),
    );
    expect(page.body.degraded).toBe(false);
    const live = await eventually(
      async () =>
        stream.events
          .filter((e) => e.event === 'tweet')
          .map((e) => (JSON.parse(e.data) as { id: string }).id),
      (ids) => ids.includes(posted.body.id),
      10_000,
    );
    expect(live).toContain(posted.body.id);
    stream.close();
    expect((await api(g, 'GET', `/api/users/${b}`, { token: alice.accessToken })).body).toMatchObject({
      followers: 1,
    });
  });
});

describe('shared-secret JWTs', () => {
  it('accept the right caller for the right callee, and refuse the rest', async () => {
    await switchTo('jwt-secret');
    const secrets = await sharedSecrets();
    const tweets = `http://${(await cluster.instance('tweets')).address}`;
    const call = async (token: string, method: 'GET' | 'POST' = 'GET') => {
      const answer = await api(tweets, method, method === 'GET' ? '/v1/tweets?author=nobody' : '/v1/tweets', {
        headers: { 'x-service-authorization': `Bearer ${token}` },
        ...(method === 'POST' ? { body: { author: 'mallory', text: 'forged' } } : {}),
      });
      return answer.status;
    };
    const secret = secrets[0]!;
    expect(await call((await mintServiceJwt(secret, 'gateway', 'tweets')).token)).toBe(200);
    expect(await call((await mintServiceJwt(secret, 'gateway', 'users')).token)).toBe(401);
    expect(await call((await mintServiceJwt(secret, 'timeline', 'tweets')).token, 'POST')).toBe(403);
    const wrong = { kid: secret.kid, secret: Buffer.alloc(32, 7).toString('base64url'), signFrom: 0 };
    expect(await call((await mintServiceJwt(wrong, 'gateway', 'tweets')).token)).toBe(401);
    expect(await call((await mintServiceJwt(secret, 'gateway', 'tweets', -10)).token)).toBe(401);
  });

  it('rotate under traffic without a failed request; the old secret stays accepted for the overlap', async () => {
    await switchTo('jwt-secret');
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'rotor', password: 'rotor-password', displayName: 'R' },
    });
    const { accessToken } = await login(g, 'rotor', 'rotor-password');
    const before = await sharedSecrets();
    const failures: number[] = [];
    let done = 0;
    let stop = false;
    const load = Promise.all(
      [0, 1].map(async () => {
        while (!stop) {
          const answer = await api(g, 'GET', '/api/users/rotor', { token: accessToken });
          if (answer.status !== 200) failures.push(answer.status);
          done += 1;
          // Paced under the per-user rate limit: a 429 is not what this test is about.
          await new Promise((r) => setTimeout(r, 40));
        }
      }),
    );
    const rotated = await admin.rotateSharedSecret();
    const target = done + 30;
    // Past the moment callers switch to the new secret (2 s after the rotation).
    await eventually(
      async () => done,
      (n) => n >= target,
      30_000,
      50,
    );
    await new Promise((r) => setTimeout(r, 2_500));
    stop = true;
    await load;
    expect(rotated.secrets.map((s) => s.kid)).toEqual(expect.arrayContaining([rotated.kid, before[0]!.kid]));
    expect(failures).toEqual([]);
    const tweets = `http://${(await cluster.instance('tweets')).address}`;
    const old = await mintServiceJwt(before[0]!, 'gateway', 'tweets');
    const status = (
      await api(tweets, 'GET', '/v1/tweets?author=nobody', {
        headers: { 'x-service-authorization': `Bearer ${old.token}` },
      })
    ).status;
    expect(status).toBe(200);
  });
});

describe('oauth mode', () => {
  it('refuses a shared-secret JWT and a user access token as service credentials', async () => {
    await switchTo('oauth');
    const secrets = await sharedSecrets();
    // The previous mode's proofs are honoured for a short grace after a switch (calls in flight).
    await new Promise((r) => setTimeout(r, 3_200));
    const tweets = `http://${(await cluster.instance('tweets')).address}`;
    const g = cluster.gateway;
    await api(g, 'POST', '/api/accounts', {
      body: { handle: 'oauthy', password: 'oauthy-password', displayName: 'O' },
    });
    const user = await login(g, 'oauthy', 'oauthy-password');
    for (const token of [(await mintServiceJwt(secrets[0]!, 'gateway', 'tweets')).token, user.accessToken]) {
      const answer = await api(tweets, 'GET', '/v1/tweets?author=nobody', {
        headers: { 'x-service-authorization': `Bearer ${token}` },
      });
      expect(answer.status).toBe(401);
    }
    const issued = await admin.tokens({ limit: 1000 });
    expect(issued.some((t) => t.kind === 'service' && t.clientId === 'svc:gateway')).toBe(true);
  });
});

describe('secrets', () => {
  it('never reach the services’ logs (CA key, enrollment secret, shared secrets, enrollment credentials)', async () => {
    const secrets = await sharedSecrets();
    const keyBody = trust.caKeyPem
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const forbidden = [
      trust.enrollSecret,
      keyBody.slice(0, 40),
      ...secrets.map((s) => s.secret),
      ...TRUSTED.map((service) => enrollmentToken(trust.enrollSecret, trust.clusterId, service)),
    ];
    const dir = cluster.runtime.paths.logsDir;
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThanOrEqual(TRUSTED.length);
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      for (const secret of forbidden) expect(text.includes(secret), `${file} holds a secret`).toBe(false);
    }
  });
});

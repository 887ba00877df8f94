/**
 * Trust figures, printed as JSON (`node bench/trust.ts`): revocation propagation to the gateway
 * (client-observed, from the admin call to the first 401, and the push lag the gateway measured
 * itself), the cost of a mutual-TLS request against a plain one to the same instance in the same
 * run (kept-alive and with a fresh connection each time), and gateway requests per second with
 * each service-to-service mode. Figures, never assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { AuthAdminClient, type TrustMode } from '../sample-cluster/runtime/auth-admin.ts';
import { ProcessRuntime } from '../sample-cluster/runtime/process/runtime.ts';
import { api } from '../test/integration/http.ts';
import { login } from '../test/integration/oauth-client.ts';
import { clusterTrust, enrollAs, tlsAddress, tlsAgent } from '../test/integration/trust-support.ts';
import type { TestCluster } from '../test/integration/cluster.ts';

const USERS = Number(process.env.BENCH_REVOCATIONS ?? 40);
const CALLS = Number(process.env.BENCH_CALLS ?? 400);

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(2),
  );
};
const summary = (values: number[]) => ({
  n: values.length,
  p50: pct(values, 50),
  p99: pct(values, 99),
  max: pct(values, 100),
});

async function timed(n: number, once: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    out.push(performance.now() - t0);
  }
  return out;
}

const home = mkdtempSync(join(tmpdir(), 'chaoscope-bench-trust-'));
const runtime = new ProcessRuntime({ home, logLevel: 'warn' });
try {
  const status = await runtime.up({ gatewayPort: 19080 });
  const token = await runtime.adminToken();
  const address = (service: string) => status.services.find((s) => s.name === service)!.instances[0]!.address;
  const admin = new AuthAdminClient({ address: address('auth'), token });
  const g = status.gateway;
  // Just enough of a TestCluster for the shared helpers.
  const cluster = {
    runtime,
    gateway: g,
    adminToken: token,
    status: () => runtime.status(),
    instance: async (service: string) =>
      (await runtime.status()).services.find((s) => s.name === service)!.instances[0]!,
  } as unknown as TestCluster;

  // --- revocation propagation -------------------------------------------------------------------
  const propagation: number[] = [];
  for (let i = 0; i < USERS; i++) {
    const handle = `bench${i}`;
    await api(g, 'POST', '/api/accounts', {
      body: { handle, password: `${handle}-password`, displayName: handle },
    });
    const { accessToken } = await login(g, handle, `${handle}-password`);
    const t0 = performance.now();
    await admin.revoke({ user: handle });
    for (;;) {
      const answer = await api(g, 'GET', '/api/timeline?limit=1', { token: accessToken });
      if (answer.status === 401) break;
    }
    propagation.push(performance.now() - t0);
  }
  const pushLag = (await admin.revocationStats(address('gateway'))).pushLagMs;

  // --- mTLS against plain, same instance, same run -------------------------------------------------
  const trust = await clusterTrust(cluster);
  const identity = await enrollAs(cluster, trust, 'gateway');
  const usersPlain = `http://${address('users')}/healthz`;
  const usersTls = `https://${await tlsAddress(cluster, 'users')}/healthz`;
  const keepPlain = new Agent({ keepAliveTimeout: 10_000 });
  const keepTls = tlsAgent({ ...identity, ca: trust.caCertPem });
  const get = async (url: string, dispatcher: Agent) => (await request(url, { dispatcher })).body.dump();
  await timed(50, () => get(usersPlain, keepPlain));
  await timed(50, () => get(usersTls, keepTls));
  const plainKept = await timed(CALLS, () => get(usersPlain, keepPlain));
  const tlsKept = await timed(CALLS, () => get(usersTls, keepTls));
  const fresh = async (url: string, tls: boolean) => {
    const agent = tls ? tlsAgent({ ...identity, ca: trust.caCertPem }) : new Agent();
    try {
      await get(url, agent);
    } finally {
      await agent.destroy();
    }
  };
  const plainFresh = await timed(CALLS / 4, () => fresh(usersPlain, false));
  const tlsFresh = await timed(CALLS / 4, () => fresh(usersTls, true));

  // --- one gateway hop per mode -----------------------------------------------------------------
  await api(g, 'POST', '/api/accounts', {
    body: { handle: 'modes', password: 'modes-password', displayName: 'M' },
  });
  const { accessToken } = await login(g, 'modes', 'modes-password');
  const perMode: Record<string, ReturnType<typeof summary>> = {};
  for (const mode of ['jwt-secret', 'oauth', 'mtls'] as TrustMode[]) {
    await admin.setMode(mode);
    await new Promise((r) => setTimeout(r, 3_500)); // past the switch grace
    await timed(30, () => api(g, 'GET', '/api/users/modes', { token: accessToken }));
    perMode[mode] = summary(
      await timed(CALLS / 2, () => api(g, 'GET', '/api/users/modes', { token: accessToken })),
    );
  }

  const ratio = (a: number[], b: number[]) => Number((pct(a, 50) / pct(b, 50)).toFixed(2));
  console.log(
    JSON.stringify(
      {
        machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
        revocation: {
          clientObservedMs: summary(propagation),
          gatewayPushLagMs: pushLag,
        },
        mtlsVersusPlain: {
          keptAliveMs: {
            plain: summary(plainKept),
            mtls: summary(tlsKept),
            p50Ratio: ratio(tlsKept, plainKept),
          },
          freshConnectionMs: {
            plain: summary(plainFresh),
            mtls: summary(tlsFresh),
            p50Ratio: ratio(tlsFresh, plainFresh),
          },
        },
        gatewayOneHopMsByMode: perMode,
      },
      null,
      2,
    ),
  );
  await keepPlain.destroy();
  await keepTls.destroy();
} finally {
  await runtime.down({ volumes: true }).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
}

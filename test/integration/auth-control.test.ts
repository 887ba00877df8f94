/**
 * Trust through the control plane, as an operator uses it: the auth commands over a real control
 * plane (in this process, throwaway CHAOSCOPE_HOME) and a real process cluster, and the `chaoscope`
 * auth verbs against that control plane. Revoking a user refuses that user's next request while
 * another carries on; a key rotation goes unnoticed; the mode switches and back; an expired
 * certificate is replaced; bad input gets a one-line error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandInput, CommandName, CommandOutput } from '../../electron/api/commands.ts';
import type { ClusterStatus } from '../../electron/api/schemas.ts';
import { runCli } from '../../electron/control/cli/program.ts';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';
import { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { processClusterPaths } from '../../sample-cluster/runtime/paths.ts';
import { api, eventually } from './http.ts';
import { login, type Tokens } from './oauth-client.ts';

const home = mkdtempSync(join(tmpdir(), 'chaoscope-auth-it-'));
const env = { ...process.env, CHAOSCOPE_HOME: home, XDG_DATA_HOME: home, NO_COLOR: '1' };
let plane: ControlPlane;
let gateway: string;

async function invoke<K extends CommandName>(name: K, input?: CommandInput<K>): Promise<CommandOutput<K>> {
  const answer = await plane.invoke(name, input ?? {});
  if (!answer.ok) throw new Error(`${name}: ${answer.error.code} ${answer.error.message}`);
  return answer.value as CommandOutput<K>;
}

async function refusal(name: CommandName, input: unknown): Promise<{ code: string; message: string }> {
  const answer = await plane.invoke(name, input);
  if (answer.ok) throw new Error(`${name} was accepted`);
  return answer.error;
}

/** `chaoscope …` in this process, against the control plane above. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env,
    stdout: { write: (t: string) => ((stdout += t), true), isTTY: false },
    stderr: { write: (t: string) => ((stderr += t), true), isTTY: false },
  });
  return { code, stdout, stderr };
}

async function user(handle: string): Promise<Tokens> {
  const password = `${handle}-password-1`;
  const created = await api(gateway, 'POST', '/api/accounts', {
    body: { handle, password, displayName: handle },
  });
  expect(created.status).toBe(201);
  return login(gateway, handle, password);
}

const timeline = async (token: string) =>
  (await api(gateway, 'GET', '/api/timeline?limit=1', { token })).status;

beforeAll(async () => {
  plane = await startControlPlane({ home, env, webPort: 0, mode: 'serve' });
  const status = await invoke('cluster.up', { runtime: 'process', gatewayPort: 18380 });
  gateway = status.gateway;
  // Every trusted instance holds a certificate and hears auth's stream before the tests start.
  await eventually(
    () => invoke('auth.status'),
    (s) => s.instances.length === 6 && s.instances.every((i) => i.streamConnected && i.certificate),
    60_000,
    250,
  );
}, 180_000);

afterAll(async () => {
  await plane?.close({ stopCluster: true }).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('auth status', () => {
  it('shows mode, keys, certificates, the revocation check and refusal counts; the CLI prints them', async () => {
    const status = await invoke('auth.status');
    expect(status.mode).toBe('mtls');
    expect(status.signingKeys.filter((k) => k.current)).toHaveLength(1);
    const inUse = status.certificates.filter((c) => c.inUse);
    expect(new Set(inUse.map((c) => c.service))).toEqual(
      new Set(['auth', 'users', 'tweets', 'timeline', 'realtime', 'gateway']),
    );
    for (const c of inUse) {
      expect(c.state).toBe('valid');
      expect(c.expiresInSeconds).toBeGreaterThan(0);
    }
    expect(status.revocation).toHaveLength(1);
    expect(status.revocation[0]!.streamConnected).toBe(true);
    expect(status.unreachable).toEqual([]);
    expect(JSON.stringify(status)).not.toMatch(/"d"|PRIVATE KEY|secret"/);

    const human = await cli(['auth', 'status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('mtls');
    expect(human.stdout).toContain('push lag');
    const certs = await cli(['certs', '--json']);
    expect(certs.code).toBe(0);
    const listed = (JSON.parse(certs.stdout) as { certificates: { service: string }[] }).certificates;
    expect(listed.length).toBeGreaterThanOrEqual(6);
    // `status --json` keeps every instance's address.
    const cluster = JSON.parse((await cli(['status', '--json'])).stdout) as ClusterStatus;
    for (const s of cluster.services) for (const i of s.instances) expect(i.address).toMatch(/:\d+$/);
  });
});

describe('revocation', () => {
  it('`revoke --user` refuses that user on the next request; another user carries on', async () => {
    const [alice, bob] = await Promise.all([user('alice'), user('bob')]);
    expect(await timeline(alice.accessToken)).toBe(200);
    expect(await timeline(bob.accessToken)).toBe(200);

    const run = await cli(['revoke', '--user', 'alice', '--json']);
    const answered = Date.now();
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as CommandOutput<'auth.revoke'>;
    expect(result.auth).toMatchObject({ revoked: 'user', user: 'alice' });
    expect(result.auth.revoked === 'user' && result.auth.grants).toBeGreaterThanOrEqual(1);
    expect(result.fault?.state).toBe('completed');
    expect(result.fault?.description).toBe('revoke-user alice');

    // The gateway hears of it on auth's push stream, milliseconds later: poll every 5 ms.
    const first = await eventually(
      () => timeline(alice.accessToken),
      (s) => s === 401,
      2_000,
      5,
    );
    const refusedAfter = Date.now() - answered;
    expect(first).toBe(401);
    expect(await timeline(bob.accessToken)).toBe(200);
    const { revocation } = await invoke('auth.status');
    const lag = revocation[0]!.pushLagMs;
    console.log(
      `revoke --user: first 401 ${refusedAfter} ms after the CLI answered; gateway push lag p50 ${lag.p50} ms, p99 ${lag.p99} ms (${lag.samples} samples)`,
    );
    // The fault is in the engine's history, marked like any other.
    const { recent } = await invoke('chaos.list', { limit: 20 });
    expect(recent.some((r) => r.id === result.fault?.id)).toBe(true);
    // A later login works again (tokens issued in the cut-off's second are refused too: iat is in s).
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await login(gateway, 'alice', 'alice-password-1');
    expect(await timeline(again.accessToken)).toBe(200);
  });

  it('revokes one token by value (CLI) and by jti (API); the chaos history holds no token value', async () => {
    const carol = await user('carol');
    const second = await login(gateway, 'carol', 'carol-password-1');
    const run = await cli(['revoke', '--token', carol.accessToken]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(String(decodeJwt(carol.accessToken).jti));
    expect(
      await eventually(
        () => timeline(carol.accessToken),
        (s) => s === 401,
        2_000,
        5,
      ),
    ).toBe(401);
    expect(await timeline(second.accessToken)).toBe(200);

    const byJti = await invoke('auth.revoke', { jti: String(decodeJwt(second.accessToken).jti) });
    expect(byJti.auth).toMatchObject({ revoked: 'access_token' });
    expect(
      await eventually(
        () => timeline(second.accessToken),
        (s) => s === 401,
        2_000,
        5,
      ),
    ).toBe(401);
    const tokens = await invoke('auth.tokens', { user: 'carol', limit: 10 });
    expect(tokens.tokens.filter((t) => t.revoked).length).toBeGreaterThanOrEqual(2);
    const everything = JSON.stringify([tokens, await invoke('chaos.list', { limit: 100 })]);
    expect(everything).not.toContain(carol.accessToken.split('.')[2]!);
  });
});

describe('signing keys', () => {
  it('`rotate-keys`: no user notices, and a token signed with the new key works on first use', async () => {
    const dave = await user('dave');
    const oldKid = decodeProtectedHeader(dave.accessToken).kid;
    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) {
        statuses.push(await timeline(dave.accessToken));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const run = await cli(['rotate-keys', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const rotated = JSON.parse(run.stdout) as CommandOutput<'auth.rotateKeys'>;
    expect(rotated.auth.kid).not.toBe(oldKid);
    expect(rotated.auth.published).toEqual(expect.arrayContaining([rotated.auth.kid, oldKid]));
    const fresh = await login(gateway, 'dave', 'dave-password-1');
    expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(rotated.auth.kid);
    expect(await timeline(fresh.accessToken)).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await traffic;
    expect(statuses.length).toBeGreaterThan(2);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const status = await invoke('auth.status');
    expect(status.signingKeys.find((k) => k.current)?.kid).toBe(rotated.auth.kid);
  });
});

describe('signing keys with the trust stream down', () => {
  it('a token signed with a key rotated a moment after a JWKS fetch works on its first use', async () => {
    const state = JSON.parse(readFileSync(processClusterPaths(home).stateFile, 'utf8')) as {
      adminToken: string;
    };
    const cluster = await invoke('cluster.status');
    const address = (service: string) =>
      cluster.services.find((s) => s.name === service)!.instances[0]!.address;
    const admin = new AuthAdminClient({ address: address('auth'), token: state.adminToken });
    await admin.suspendTrustStream(address('gateway'), 8);
    await eventually(
      () => invoke('auth.status'),
      (s) => s.revocation[0]?.streamConnected === false,
      10_000,
      100,
    );
    // A forged kid makes the gateway fetch the JWKS now: the rotation below lands right after it.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ scope: 'tweets:read', client_id: 'chaoscope-cli', jti: 'forged' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged-kid' })
      .setIssuer(gateway.replace(/\/$/, ''))
      .setAudience('chaoscope-api')
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await timeline(forged)).toBe(401);
    const rotated = await invoke('auth.rotateKeys');
    const gina = await user('gina');
    expect(decodeProtectedHeader(gina.accessToken).kid).toBe(rotated.auth.kid);
    expect(await timeline(gina.accessToken)).toBe(200);
    // The later tests need the stream back.
    await eventually(
      () => invoke('auth.status'),
      (s) => s.revocation[0]?.streamConnected === true && s.revocation[0].synced,
      40_000,
      200,
    );
  });
});

describe('service-to-service mode', () => {
  it('switches to jwt-secret (CLI) and back to mtls (API); the user journey works in both', async () => {
    const erin = await user('erin');
    const switched = await cli(['auth-mode', 'jwt-secret']);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stdout).toContain('mtls → jwt-secret');
    await eventually(
      () => invoke('auth.status'),
      (s) => s.instances.every((i) => i.mode === 'jwt-secret'),
      15_000,
      100,
    );
    const posted = await api(gateway, 'POST', '/api/tweets', {
      token: erin.accessToken,
      body: { text: 'hello over shared-secret JWTs' },
    });
    expect(posted.status).toBe(201);
    expect(await timeline(erin.accessToken)).toBe(200);

    const back = await invoke('auth.mode', { mode: 'mtls' });
    expect(back.auth).toEqual({ mode: 'mtls', previousMode: 'jwt-secret' });
    // Switching back is the first switch's rollback: nothing is left for a "reset all".
    expect(back.fault?.state).toBe('rolled-back');
    expect((await invoke('chaos.list', {})).active).toEqual([]);
    await eventually(
      () => invoke('auth.status'),
      (s) => s.instances.every((i) => i.mode === 'mtls'),
      15_000,
      100,
    );
    expect(await timeline(erin.accessToken)).toBe(200);
    const again = await refusal('auth.mode', { mode: 'mtls' });
    expect(again).toMatchObject({ code: 'CONFLICT', message: 'the auth mode is mtls already' });
  });
});

describe('certificates', () => {
  it('an expired certificate is replaced and the service keeps answering', async () => {
    const before = await invoke('auth.status');
    const old = before.certificates.find((c) => c.service === 'timeline' && c.inUse)!;
    const expired = await invoke('auth.certificate', { service: 'timeline', action: 'expire' });
    expect(expired.auth.serials).toContain(old.serial);
    expect(expired.fault?.state).toBe('active');
    expect(expired.auth.certificates.find((c) => c.serial === old.serial)?.state).toBe('expired');
    const renewed = await eventually(
      () => invoke('auth.status'),
      (s) =>
        s.instances.some(
          (i) => i.service === 'timeline' && i.certificate && i.certificate.serial !== old.serial,
        ),
      30_000,
      200,
    );
    const current = renewed.certificates.find((c) => c.service === 'timeline' && c.inUse)!;
    expect(current.serial).not.toBe(old.serial);
    expect(current.state).toBe('valid');
    const frank = await user('frank');
    expect(
      (
        await eventually(
          () => api(gateway, 'GET', '/api/timeline?limit=1', { token: frank.accessToken }),
          (a) => a.status === 200 && !a.headers['x-degraded'],
          20_000,
          200,
        )
      ).status,
    ).toBe(200);
    // `cert … renew` ends the fault (its undo renews again).
    const run = await cli(['cert', 'timeline', 'renew', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as CommandOutput<'auth.certificate'>;
    expect(result.fault?.id).toBe(expired.fault?.id);
    expect(result.fault?.state).toBe('rolled-back');
    expect(result.auth.serials).toHaveLength(1);
  });
});

describe('bad input', () => {
  it('answers each with one clear line', async () => {
    const noMode = await cli(['auth-mode', 'kerberos']);
    expect(noMode.code).toBe(2);
    expect(noMode.stderr.trim().split('\n')).toHaveLength(1);
    expect(noMode.stderr).toContain('mtls, jwt-secret, oauth');

    const nothing = await cli(['revoke']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toBe(
      'chaoscope: say what to revoke: exactly one of --user, --token, --jti or --grant\n',
    );

    const both = await cli(['revoke', '--user', 'alice', '--jti', 'x']);
    expect(both.code).toBe(2);

    const badHandle = await cli(['revoke', '--user', 'not a handle!']);
    expect(badHandle.code).toBe(2);
    expect(badHandle.stderr.split('\n')[0]).toMatch(/^chaoscope: /);

    const hold = await cli(['cert', 'timeline', 'expire', '--hold', '5s']);
    expect(hold.code).toBe(2);
    expect(hold.stderr).toBe('chaoscope: --hold goes with revoke\n');

    expect(await refusal('auth.certificate', { service: 'registry', action: 'revoke' })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await refusal('auth.revoke', { jti: 'no-such-token' })).toMatchObject({ code: 'NOT_FOUND' });
    const junk = await refusal('auth.revoke', { token: 'not-a-jwt' });
    expect(junk.code).toBe('BAD_REQUEST');
    expect(await refusal('auth.revoke', {})).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

/**
 * The user token lifecycle at the real gateway: RFC 8725 attacks each answered 401; revocation of
 * an access token (RFC 7009), of a grant through its refresh token, and of everything of a user,
 * pushed to the gateway and refused on the next requests while other users carry on; signing-key
 * rotation with JWKS overlap; the introspection mode; and the fallback to introspection when the
 * revocation stream is lost.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import Fastify from 'fastify';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually } from './http.ts';
import { login, refresh } from './oauth-client.ts';
import { authAdmin } from './trust-support.ts';

let cluster: TestCluster;
let admin: AuthAdminClient;
let gatewayAdmin: string;

beforeAll(async () => {
  cluster = await startCluster();
  admin = await authAdmin(cluster);
  gatewayAdmin = (await cluster.instance('gateway')).address;
});
afterAll(async () => {
  await cluster?.stop();
});

async function account(handle: string) {
  const password = `${handle}-password-1`;
  const created = await api(cluster.gateway, 'POST', '/api/accounts', {
    body: { handle, password, displayName: handle },
  });
  expect(created.status).toBe(201);
  return login(cluster.gateway, handle, password);
}

const timeline = (token: string) => api(cluster.gateway, 'GET', '/api/timeline?limit=1', { token });

/** The auth service's current signing key, read from its database as an attacker with disk access could. */
function signingKey(): JWK {
  const db = new DatabaseSync(join(cluster.runtime.paths.serviceDataDir('auth'), 'auth.db'), {
    readOnly: true,
  });
  try {
    const row = db.prepare('SELECT private_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1').get() as {
      private_jwk: string;
    };
    return JSON.parse(row.private_jwk) as JWK;
  } finally {
    db.close();
  }
}

describe('RFC 8725 attacks at the gateway', () => {
  let good: string;
  let claims: Record<string, unknown>;
  let kid: string;
  let jwksKey: JWK;

  beforeAll(async () => {
    good = (await account('target')).accessToken;
    claims = decodeJwt(good);
    kid = decodeProtectedHeader(good).kid!;
    const jwks = await api<{ keys: JWK[] }>(cluster.gateway, 'GET', '/oauth/jwks');
    jwksKey = jwks.body.keys.find((k) => k.kid === kid)!;
  });

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  /** Signed with the real key: only the named defect can be the reason for a 401. */
  const realSigned = async (payload: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const key = await importJWK(signingKey(), 'ES256');
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header }).sign(key);
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('accepts the genuine token, and the same claims signed with the real key (the control case)', async () => {
    expect((await timeline(good)).status).toBe(200);
    expect((await timeline(await realSigned(claims))).status).toBe(200);
  });

  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`],
    [
      'HS256 signed with the JWKS public key',
      async () =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
          .sign(Buffer.from(JSON.stringify(jwksKey))),
    ],
    [
      'a foreign key under the known kid',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
      },
    ],
    [
      'an unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-a-key' })
          .sign(privateKey);
      },
    ],
    ['injection in kid', () => realSigned(claims, { kid: "../../etc/passwd' OR '1'='1" })],
    ['wrong typ', () => realSigned(claims, { typ: 'JWT' })],
    ['wrong aud', () => realSigned({ ...claims, aud: 'someone-else' })],
    ['wrong iss', () => realSigned({ ...claims, iss: 'https://evil.example' })],
    ['expired', () => realSigned({ ...claims, iat: now() - 7_200, exp: now() - 3_600 })],
    ['nbf in the future', () => realSigned({ ...claims, nbf: now() + 3_600 })],
    [
      'missing exp',
      () => realSigned(Object.fromEntries(Object.entries(claims).filter(([k]) => k !== 'exp'))),
    ],
    [
      'tampered payload',
      async () => {
        const [h, , s] = good.split('.');
        return `${h}.${b64({ ...claims, sub: 'someone-else' })}.${s}`;
      },
    ],
  ])('%s → 401', async (_name, forge) => {
    const answer = await timeline(await forge());
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('never fetches jku or x5u', async () => {
    let hits = 0;
    const trap = Fastify();
    trap.all('/*', async () => {
      hits += 1;
      return { keys: [] };
    });
    await trap.listen({ host: '127.0.0.1', port: 0 });
    const address = trap.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks`;
    try {
      const { privateKey } = await generateKeyPair('ES256');
      for (const header of [{ jku: url }, { x5u: url }]) {
        const forged = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker', ...header })
          .sign(privateKey);
        expect((await timeline(forged)).status).toBe(401);
      }
      expect(hits).toBe(0);
    } finally {
      await trap.close();
    }
  });
});

describe('revocation', () => {
  it('refuses an access token revoked by its client (RFC 7009) on the next requests; other users carry on', async () => {
    const victim = await account('victim');
    const bystander = await account('bystander');
    expect((await timeline(victim.accessToken)).status).toBe(200);
    const revoked = await request(`${cluster.gateway}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: victim.accessToken, client_id: 'chaoscope-cli' }).toString(),
    });
    expect(revoked.statusCode).toBe(200);
    await revoked.body.text();
    const refused = await eventually(
      () => timeline(victim.accessToken),
      (a) => a.status === 401,
      2_000,
      5,
    );
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain('revoked');
    expect((await timeline(bystander.accessToken)).status).toBe(200);
  });

  it('revokes the grant’s access tokens when its refresh token is revoked', async () => {
    const user = await account('grantee');
    const rotated = await refresh(cluster.gateway, user.refreshToken!);
    for (const token of [user.accessToken, rotated.accessToken])
      expect((await timeline(token)).status).toBe(200);
    const revoked = await request(`${cluster.gateway}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: rotated.refreshToken!,
        token_type_hint: 'refresh_token',
        client_id: 'chaoscope-cli',
      }).toString(),
    });
    expect(revoked.statusCode).toBe(200);
    await revoked.body.text();
    for (const token of [user.accessToken, rotated.accessToken]) {
      const answer = await eventually(
        () => timeline(token),
        (a) => a.status === 401,
        2_000,
        5,
      );
      expect(answer.status).toBe(401);
    }
    await expect(refresh(cluster.gateway, rotated.refreshToken!)).rejects.toThrow();
  });

  it('revokes the whole grant when a rotated refresh token is reused, access tokens included', async () => {
    const user = await account('reuser');
    const second = await refresh(cluster.gateway, user.refreshToken!);
    await expect(refresh(cluster.gateway, user.refreshToken!)).rejects.toThrow();
    const answer = await eventually(
      () => timeline(second.accessToken),
      (a) => a.status === 401,
      2_000,
      5,
    );
    expect(answer.status).toBe(401);
  });

  it('revokes everything of one user from the admin API; a new login works', async () => {
    const first = await account('everything');
    const second = await login(cluster.gateway, 'everything', 'everything-password-1');
    const other = await account('unaffected');
    const result = await admin.revoke({ user: 'everything' });
    expect(result).toMatchObject({ revoked: 'user', user: 'everything' });
    for (const token of [first.accessToken, second.accessToken]) {
      const answer = await eventually(
        () => timeline(token),
        (a) => a.status === 401,
        2_000,
        5,
      );
      expect(answer.status).toBe(401);
    }
    await expect(refresh(cluster.gateway, first.refreshToken!)).rejects.toThrow();
    expect((await timeline(other.accessToken)).status).toBe(200);
    // Tokens issued in the same second as the cut-off are refused too; a later login is fine.
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await login(cluster.gateway, 'everything', 'everything-password-1');
    expect((await timeline(again.accessToken)).status).toBe(200);
    // The listings show the revoked tokens and never a token value.
    const tokens = await admin.tokens({ account: 'everything' });
    expect(tokens.filter((t) => t.revoked).length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(tokens)).not.toContain(first.accessToken.split('.')[2]!);
  });

  it('falls back to introspection when the revocation stream is lost', async () => {
    const user = await account('partitioned');
    expect((await timeline(user.accessToken)).status).toBe(200);
    await admin.suspendTrustStream(gatewayAdmin, 20);
    await eventually(
      () => admin.revocationStats(gatewayAdmin),
      (s) => !s.streamConnected,
      5_000,
      20,
    );
    const before = await admin.revocationStats(gatewayAdmin);
    expect((await timeline(user.accessToken)).status).toBe(200);
    await admin.revoke({ user: 'partitioned' });
    // No push can arrive, yet the next request is refused: the gateway asked auth.
    expect((await timeline(user.accessToken)).status).toBe(401);
    const after = await admin.revocationStats(gatewayAdmin);
    expect(after.streamConnected).toBe(false);
    expect(after.introspections).toBeGreaterThan(before.introspections);
    expect(after.fallbackChecks).toBeGreaterThan(before.fallbackChecks);
  });

  it('in the introspection mode asks auth for every token; a cache trades freshness for calls', async () => {
    const user = await account('introspected');
    await admin.configureRevocation(gatewayAdmin, { mode: 'introspection', cacheMs: 0 });
    try {
      const before = (await admin.revocationStats(gatewayAdmin)).introspections;
      expect((await timeline(user.accessToken)).status).toBe(200);
      expect((await timeline(user.accessToken)).status).toBe(200);
      expect((await admin.revocationStats(gatewayAdmin)).introspections).toBe(before + 2);

      await admin.configureRevocation(gatewayAdmin, { mode: 'introspection', cacheMs: 60_000 });
      expect((await timeline(user.accessToken)).status).toBe(200);
      const { jti } = decodeJwt(user.accessToken);
      await admin.revoke({ jti: jti! });
      // The cached answer is still "active": the price of the cache.
      expect((await timeline(user.accessToken)).status).toBe(200);
      await admin.configureRevocation(gatewayAdmin, { cacheMs: 0 });
      expect((await timeline(user.accessToken)).status).toBe(401);
    } finally {
      await admin.configureRevocation(gatewayAdmin, { mode: 'push', cacheMs: 0 });
    }
  });
});

describe('signing keys', () => {
  it('rotates with JWKS overlap: old tokens stay valid, new ones use the new key', async () => {
    // The fallback test suspended the trust stream; a rotation reaches the gateway through it (with
    // the stream down, a token with the new kid waits for a fresh JWKS fetch instead).
    await eventually(
      () => admin.revocationStats(gatewayAdmin),
      (s) => s.streamConnected,
      40_000,
      100,
    );
    const user = await account('rotator');
    const oldKid = decodeProtectedHeader(user.accessToken).kid;
    const rotated = await admin.rotateKeys();
    expect(rotated.kid).not.toBe(oldKid);
    expect(rotated.published).toEqual(expect.arrayContaining([rotated.kid, oldKid]));
    const jwks = await api<{ keys: JWK[] }>(cluster.gateway, 'GET', '/oauth/jwks');
    expect(jwks.body.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([rotated.kid, oldKid]));
    expect(JSON.stringify(jwks.body)).not.toContain('"d"');
    expect((await timeline(user.accessToken)).status).toBe(200);
    const fresh = await login(cluster.gateway, 'rotator', 'rotator-password-1');
    expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(rotated.kid);
    expect((await timeline(fresh.accessToken)).status).toBe(200);
    const events = await admin.events({ kind: 'keys-rotated' });
    expect(events[0]?.attributes.kid).toBe(rotated.kid);
  });
});

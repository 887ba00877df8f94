import { base64url, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually } from './http.ts';
import { login } from './oauth-client.ts';

let cluster: TestCluster;
let token: string;
let readOnlyToken: string;

beforeAll(async () => {
  cluster = await startCluster();
  await api(cluster.gateway, 'POST', '/api/accounts', {
    body: { handle: 'errs', password: 'errs-password-1', displayName: 'Errs' },
  });
  token = (await login(cluster.gateway, 'errs', 'errs-password-1')).accessToken;
  readOnlyToken = (await login(cluster.gateway, 'errs', 'errs-password-1', 'openid tweets:read')).accessToken;
});
afterAll(async () => {
  await cluster?.stop();
});

const problem = expect.objectContaining({
  type: expect.any(String),
  title: expect.any(String),
  status: expect.any(Number),
});
const isProblem = (headers: Record<string, unknown>) =>
  expect(String(headers['content-type'])).toContain('application/problem+json');

describe('errors of the gateway API', () => {
  it('400 for a bad body, naming the field', async () => {
    const empty = await api<{ errors: Array<{ pointer: string }> }>(cluster.gateway, 'POST', '/api/tweets', {
      token,
      body: { text: '   ' },
    });
    expect(empty.status).toBe(400);
    isProblem(empty.headers);
    expect(empty.body.errors[0]?.pointer).toBe('/body/text');
    const long = await api(cluster.gateway, 'POST', '/api/tweets', {
      token,
      body: { text: 'x'.repeat(281) },
    });
    expect(long.status).toBe(400);
    const extra = await api(cluster.gateway, 'POST', '/api/tweets', {
      token,
      body: { text: 'hi', author: 'someone_else' },
    });
    expect(extra.status).toBe(400);
    const malformed = await api(cluster.gateway, 'POST', '/api/tweets', {
      token,
      rawBody: '{"text":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    isProblem(malformed.headers);
    const badSignUp = await api(cluster.gateway, 'POST', '/api/accounts', {
      body: { handle: 'NO SPACES', password: 'short', displayName: '' },
    });
    expect(badSignUp.status).toBe(400);
    expect(badSignUp.body).toEqual(problem);
    const badLimit = await api(cluster.gateway, 'GET', '/api/timeline?limit=100000', { token });
    expect(badLimit.status).toBe(400);
  });

  it('401 with an RFC 6750 challenge for a missing, malformed or forged token', async () => {
    const missing = await api(cluster.gateway, 'GET', '/api/timeline');
    expect(missing.status).toBe(401);
    isProblem(missing.headers);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="chaoscope"');

    const garbage = await api(cluster.gateway, 'GET', '/api/timeline', { token: 'not-a-jwt' });
    expect(garbage.status).toBe(401);
    expect(garbage.headers['www-authenticate']).toContain('error="invalid_token"');

    const unsigned = new UnsecuredJWT({
      sub: 'errs',
      scope: 'tweets:read',
      aud: 'chaoscope-api',
      iss: cluster.gateway,
      jti: 'x',
    })
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    expect((await api(cluster.gateway, 'GET', '/api/timeline', { token: unsigned })).status).toBe(401);

    // HS256 "signed" with the published public key: the classic algorithm confusion (RFC 8725 §2.1).
    const jwks = await api<{ keys: JWK[] }>(cluster.gateway, 'GET', '/oauth/jwks');
    const publicKey = jwks.body.keys[0]!;
    const confused = await new SignJWT({ sub: 'errs', scope: 'tweets:read', client_id: 'chaoscope-cli' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: publicKey.kid! })
      .setIssuer(cluster.gateway)
      .setAudience('chaoscope-api')
      .setIssuedAt()
      .setJti('confused')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
    expect((await api(cluster.gateway, 'GET', '/api/timeline', { token: confused })).status).toBe(401);

    // A real token with one byte of its signature changed.
    const [h, p, s] = token.split('.');
    const sig = base64url.decode(s!);
    sig[0] = sig[0]! ^ 0xff;
    const tampered = `${h}.${p}.${base64url.encode(sig)}`;
    const refused = await api(cluster.gateway, 'GET', '/api/timeline', { token: tampered });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('403 with insufficient_scope when the token lacks the scope', async () => {
    const res = await api(cluster.gateway, 'POST', '/api/tweets', {
      token: readOnlyToken,
      body: { text: 'nope' },
    });
    expect(res.status).toBe(403);
    isProblem(res.headers);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="tweets:write"');
    expect((await api(cluster.gateway, 'GET', '/api/timeline', { token: readOnlyToken })).status).toBe(200);
  });

  it('404 for an unknown user and an unknown route', async () => {
    const user = await api(cluster.gateway, 'GET', '/api/users/nobody_here', { token });
    expect(user.status).toBe(404);
    isProblem(user.headers);
    const follow = await api(cluster.gateway, 'PUT', '/api/users/nobody_here/follow', { token });
    expect(follow.status).toBe(404);
    const route = await api(cluster.gateway, 'GET', '/api/nothing-here');
    expect(route.status).toBe(404);
    isProblem(route.headers);
  });

  it('409 for a handle that is taken', async () => {
    const res = await api(cluster.gateway, 'POST', '/api/accounts', {
      body: { handle: 'errs', password: 'another-password', displayName: 'Again' },
    });
    expect(res.status).toBe(409);
    isProblem(res.headers);
  });

  it('413 for a body larger than the gateway accepts', async () => {
    const res = await api(cluster.gateway, 'POST', '/api/tweets', {
      token,
      body: { text: 'x'.repeat(64 * 1024) },
    });
    expect(res.status).toBe(413);
    isProblem(res.headers);
  });

  it('429 with Retry-After once a user spends their burst', async () => {
    const answers = await Promise.all(
      Array.from({ length: 250 }, () => api(cluster.gateway, 'GET', '/api/users/errs', { token })),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    isProblem(limited[0]!.headers);
    // The bucket refills: after the advertised wait, requests pass again.
    const again = await eventually(
      () => api(cluster.gateway, 'GET', '/api/users/errs', { token }),
      (r) => r.status === 200,
      10_000,
      500,
    );
    expect(again.status).toBe(200);
  });

  it('503 with Retry-After when the service behind a write is down, and fine once it is back', async () => {
    await cluster.runtime.kill('tweets');
    try {
      const res = await api(cluster.gateway, 'POST', '/api/tweets', {
        token,
        body: { text: 'into the void' },
      });
      expect(res.status).toBe(503);
      isProblem(res.headers);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await cluster.runtime.start('tweets');
    }
    const back = await eventually(
      () => api(cluster.gateway, 'POST', '/api/tweets', { token, body: { text: 'back again' } }),
      (r) => r.status === 201,
      20_000,
      300,
    );
    expect(back.status).toBe(201);
  });
});

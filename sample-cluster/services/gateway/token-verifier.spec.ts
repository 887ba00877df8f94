import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRegistry } from '../../kit/breaker.ts';
import { baseConfigSchema, loadConfig } from '../../kit/config.ts';
import { createDiscovery } from '../../kit/discovery.ts';
import type { Discovery } from '../../kit/discovery-types.ts';
import { HttpProblem } from '../../kit/problem.ts';
import { ServiceClient } from '../../kit/service-client.ts';
import { freePort, testEnv } from '../../kit/testing.ts';
import { TokenVerifier } from './token-verifier.ts';

const ISSUER = 'http://127.0.0.1:8080'; // testEnv's PUBLIC_URL, as definition.ts derives it
const AUDIENCE = 'chaoscope-api';
/** The verifier's least interval between JWKS fetches (not exported: an implementation detail). */
const MIN_INTERVAL_MS = 500;

const log = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly kid: string;
}

/** A key as the auth service makes one (keys.ts): ES256, kid = the JWK thumbprint. */
async function makeKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicKey, publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, kid };
}

interface CountingServer {
  readonly port: number;
  /** Requests received so far, any path. */
  hits(): number;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance, port = 0): Promise<number> {
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return address.port;
}

/** Plays the auth service's JWKS endpoint; `keys` may be changed while it runs (a key rotation). */
async function startJwks(keys: JWK[]): Promise<CountingServer> {
  const app = Fastify();
  let hits = 0;
  app.addHook('onRequest', async () => {
    hits += 1;
  });
  app.get('/oauth/jwks', async () => ({ keys }));
  const port = await listen(app);
  cleanups.push(() => app.close());
  return { port, hits: () => hits, close: () => app.close() };
}

/** A verifier wired as the gateway wires it, with DNS discovery pointing every service at `port`. */
function verifierFor(port: number, clockToleranceSeconds = 0): TokenVerifier {
  const env = testEnv('gateway', {
    DISCOVERY: 'dns',
    DNS_HOST_TEMPLATE: 'localhost',
    DNS_PORT: String(port),
  });
  const config = loadConfig(baseConfigSchema, env);
  const discovery: Discovery = createDiscovery(config, log);
  const breakers = new BreakerRegistry('gateway', log);
  cleanups.push(
    () => breakers.shutdown(),
    () => discovery.stop(),
  );
  const client = new ServiceClient({ caller: 'gateway', discovery, breakers, log });
  return new TokenVerifier({
    client,
    issuer: config.PUBLIC_URL.replace(/\/$/, ''),
    audience: AUDIENCE,
    clockToleranceSeconds,
    log,
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The claims of a good RFC 9068 access token, as oidc-provider issues them. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSeconds();
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    client_id: 'loadgen',
    scope: 'openid tweets:read tweets:write',
    jti: randomUUID(),
    iat,
    exp: iat + 600,
    ...overrides,
  };
  // An override of `undefined` removes the claim.
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return payload;
}

async function sign(
  key: SigningKey,
  payload: JWTPayload = claims(),
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

const bearer = (token: string) => `Bearer ${token}`;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The problem a verification failed with (the test fails if it succeeded). */
async function problemOf(promise: Promise<unknown>): Promise<HttpProblem> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpProblem);
    return error as HttpProblem;
  }
  throw new Error('expected the verification to fail, and it succeeded');
}

/** An RFC 6750 invalid_token rejection. */
async function expectInvalidToken(promise: Promise<unknown>): Promise<HttpProblem> {
  const problem = await problemOf(promise);
  expect(problem.status).toBe(401);
  expect(problem.headers['www-authenticate']).toMatch(
    /^Bearer realm="chaoscope", error="invalid_token", error_description="[^"]*"$/,
  );
  return problem;
}

let key: SigningKey;
let jwks: CountingServer;
/** Shared by the tests that neither count JWKS requests nor depend on when keys were fetched. */
let verifier: TokenVerifier;

beforeAll(async () => {
  key = await makeKey();
  jwks = await startJwks([key.publicJwk]);
  verifier = verifierFor(jwks.port);
});

describe('TokenVerifier: good tokens', () => {
  it('accepts a valid ES256 at+jwt and yields the principal', async () => {
    const payload = claims();
    const principal = await verifier.verify(bearer(await sign(key, payload)));
    expect(principal).toEqual({
      handle: 'alice',
      clientId: 'loadgen',
      scopes: new Set(['openid', 'tweets:read', 'tweets:write']),
      tokenId: payload.jti,
      expiresAt: payload.exp,
      issuedAt: payload.iat,
    });
  });

  it('accepts a token without client_id or scope, with no scopes', async () => {
    const principal = await verifier.verify(
      bearer(await sign(key, claims({ client_id: undefined, scope: undefined }))),
    );
    expect(principal.clientId).toBe('');
    expect(principal.scopes.size).toBe(0);
  });

  it('accepts the same token again (from its cache) with the same principal', async () => {
    const token = await sign(key);
    const first = await verifier.verify(bearer(token));
    expect(await verifier.verify(bearer(token))).toEqual(first);
  });
});

describe('TokenVerifier: the Authorization header', () => {
  it('without a header: 401 with a bare challenge, no error code', async () => {
    const problem = await problemOf(verifier.verify(undefined));
    expect(problem.status).toBe(401);
    expect(problem.headers['www-authenticate']).toBe('Bearer realm="chaoscope"');
  });

  it.each([
    ['a Basic scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['no token', 'Bearer '],
    ['two tokens', 'Bearer abc def'],
    ['characters outside the b64token syntax', 'Bearer abc"def'],
  ])('with %s: 401 invalid_request', async (_what, header) => {
    const problem = await problemOf(verifier.verify(header));
    expect(problem.status).toBe(401);
    expect(problem.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('takes the scheme name in any case (RFC 7235)', async () => {
    const token = await sign(key);
    expect((await verifier.verify(`bearer ${token}`)).handle).toBe('alice');
    expect((await verifier.verify(`BEARER ${token}`)).handle).toBe('alice');
  });

  it('with garbage after Bearer: 401 invalid_token', async () => {
    await expectInvalidToken(verifier.verify('Bearer not-a-jwt'));
  });
});

describe('TokenVerifier: forged and malformed tokens', () => {
  it('refuses alg "none"', async () => {
    const token = `${b64url({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${b64url(claims())}.`;
    const problem = await expectInvalidToken(verifier.verify(bearer(token)));
    expect(problem.message).toMatch(/algorithm|malformed/);
  });

  it('refuses HS256 "signed" with the public key (algorithm confusion)', async () => {
    const secrets = [
      new TextEncoder().encode(JSON.stringify(key.publicJwk)),
      new TextEncoder().encode(await exportSPKI(key.publicKey)),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })
        .sign(secret);
      const problem = await expectInvalidToken(verifier.verify(bearer(token)));
      expect(problem.message).toBe('the access token is signed with an algorithm this API does not accept');
    }
  });

  it('refuses a token signed by a foreign key under a known kid', async () => {
    const foreign = await makeKey();
    const token = await sign(foreign, claims(), { kid: key.kid });
    const problem = await expectInvalidToken(verifier.verify(bearer(token)));
    expect(problem.message).toBe('the access token signature is invalid');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, payload, signature] = (await sign(key, claims({ scope: 'tweets:read' }))).split('.');
    const changed = {
      ...(JSON.parse(Buffer.from(payload!, 'base64url').toString()) as JWTPayload),
      sub: 'mallory',
      scope: 'tweets:read tweets:write',
    };
    const problem = await expectInvalidToken(
      verifier.verify(bearer(`${header}.${b64url(changed)}.${signature}`)),
    );
    expect(problem.message).toBe('the access token signature is invalid');
  });

  it('refuses an unknown kid', async () => {
    const stranger = await makeKey();
    const problem = await expectInvalidToken(verifier.verify(bearer(await sign(stranger))));
    expect(problem.message).toBe('the access token is signed with an unknown key');
  });

  it.each(['../../etc/passwd', "' OR 1=1 --", '"><script>alert(1)</script>', 'kid\r\nx-injected: 1'])(
    'refuses kid %j without echoing it',
    async (kid) => {
      const problem = await expectInvalidToken(verifier.verify(bearer(await sign(key, claims(), { kid }))));
      const answer = `${problem.message} ${problem.headers['www-authenticate']} ${JSON.stringify(problem.toBody())}`;
      expect(answer).not.toContain(kid);
      expect(answer).not.toMatch(/passwd|1=1|<script|x-injected/);
    },
  );

  it('never follows jku, x5u or an embedded jwk', async () => {
    const attacker = await makeKey();
    const app = Fastify();
    let hits = 0;
    app.addHook('onRequest', async () => {
      hits += 1;
    });
    app.get('/jwks', async () => ({ keys: [attacker.publicJwk] }));
    app.get('/cert.pem', async () => 'not a certificate');
    const port = await listen(app);
    cleanups.push(() => app.close());
    const jku = `http://127.0.0.1:${port}/jwks`;
    const x5u = `http://127.0.0.1:${port}/cert.pem`;

    const headers: Array<Partial<JWTHeaderParameters>> = [
      { jku },
      { jku, kid: key.kid },
      { x5u },
      { x5u, kid: key.kid },
      { jwk: attacker.publicJwk },
      { jwk: attacker.publicJwk, kid: key.kid },
    ];
    for (const header of headers)
      await expectInvalidToken(verifier.verify(bearer(await sign(attacker, claims(), header))));
    expect(hits).toBe(0);
  });
});

describe('TokenVerifier: claims', () => {
  it.each<[string, Partial<JWTHeaderParameters>]>([
    ['typ JWT', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
  ])('refuses %s: only RFC 9068 access tokens are accepted', async (_what, header) => {
    await expectInvalidToken(verifier.verify(bearer(await sign(key, claims(), header))));
  });

  it.each<[string, JWTPayload, string]>([
    ['another audience', { aud: 'some-other-api' }, '"aud"'],
    ['another issuer', { iss: 'http://127.0.0.1:9999' }, '"iss"'],
    ['the issuer with a trailing slash', { iss: `${ISSUER}/` }, '"iss"'],
    ['no jti', { jti: undefined }, '"jti"'],
    ['no sub', { sub: undefined }, '"sub"'],
    ['no exp', { exp: undefined }, '"exp"'],
  ])('refuses a token with %s', async (_what, overrides, claim) => {
    const problem = await expectInvalidToken(verifier.verify(bearer(await sign(key, claims(overrides)))));
    expect(problem.message).toContain(claim);
  });

  it('refuses an expired token', async () => {
    const now = nowSeconds();
    const problem = await expectInvalidToken(
      verifier.verify(bearer(await sign(key, claims({ iat: now - 120, exp: now - 60 })))),
    );
    expect(problem.message).toBe('the access token has expired');
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const lenient = verifierFor(jwks.port, 30);
    const now = nowSeconds();
    await expect(
      lenient.verify(bearer(await sign(key, claims({ iat: now - 120, exp: now - 10 })))),
    ).resolves.toMatchObject({ handle: 'alice' });
  });
});

describe('TokenVerifier: scopes', () => {
  it('requireScope passes with the scope and answers 403 insufficient_scope naming it without', async () => {
    const principal = await verifier.verify(bearer(await sign(key, claims({ scope: 'tweets:read' }))));
    expect(() => verifier.requireScope(principal, 'tweets:read')).not.toThrow();
    let problem: unknown;
    try {
      verifier.requireScope(principal, 'tweets:write');
    } catch (error) {
      problem = error;
    }
    expect(problem).toBeInstanceOf(HttpProblem);
    const { status, headers, message } = problem as HttpProblem;
    expect(status).toBe(403);
    expect(headers['www-authenticate']).toBe(
      'Bearer realm="chaoscope", error="insufficient_scope", scope="tweets:write"',
    );
    expect(message).toContain('"tweets:write"');
  });
});

describe('TokenVerifier: the signing keys', () => {
  it('answers 503, not 401, when the JWKS cannot be fetched from the start', async () => {
    const down = verifierFor(await freePort());
    const token = await sign(key);
    // Past the edge breaker opening, too: still our outage, never the token's fault.
    for (let i = 0; i < 5; i++) {
      const problem = await problemOf(down.verify(bearer(token)));
      expect(problem.status).toBe(503);
      expect(problem.headers['retry-after']).toBe('1');
      expect(problem.headers['www-authenticate']).toBeUndefined();
    }
  });

  it('answers 503 when auth serves something that is not a key set', async () => {
    const app = Fastify();
    app.get('/oauth/jwks', async () => ({ keys: 'not a list' }));
    const port = await listen(app);
    cleanups.push(() => app.close());
    const problem = await problemOf(verifierFor(port).verify(bearer(await sign(key))));
    expect(problem.status).toBe(503);
  });

  it('answers 503, not 401, for an unknown kid right after a failed refresh', async () => {
    const app = Fastify();
    let up = true;
    app.get('/oauth/jwks', async (_request, reply) =>
      up ? { keys: [key.publicJwk] } : reply.code(500).send({ error: 'down' }),
    );
    const port = await listen(app);
    cleanups.push(() => app.close());
    const local = verifierFor(port);
    expect((await local.verify(bearer(await sign(key)))).handle).toBe('alice');
    up = false;
    const stranger = await makeKey();
    // The refresh an unknown kid asks for fails: our outage, not the token's fault; and again on
    // the next request (another refresh, as failed).
    expect((await problemOf(local.verify(bearer(await sign(stranger))))).status).toBe(503);
    expect((await problemOf(local.verify(bearer(await sign(stranger))))).status).toBe(503);
  });

  it('does not need the JWKS to refuse a token that is malformed or uses a refused algorithm', async () => {
    const down = verifierFor(await freePort());
    await expectInvalidToken(down.verify('Bearer not-a-jwt'));
    await expectInvalidToken(
      down.verify(bearer(`${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(claims())}.`)),
    );
  });
});

describe.concurrent('TokenVerifier: behaviour over time', () => {
  it('refetches the JWKS for unknown kids in one shared fetch, at most once per interval', async ({
    expect,
  }) => {
    const server = await startJwks([key.publicJwk]);
    const fresh = verifierFor(server.port);
    await fresh.verify(bearer(await sign(key)));
    expect(server.hits()).toBe(1);

    const stranger = await makeKey();
    const forgeries = async (n: number) => {
      const tokens = await Promise.all(
        Array.from({ length: n }, (_, i) => sign(stranger, claims(), { kid: `forged-${i}-${randomUUID()}` })),
      );
      const results = await Promise.allSettled(tokens.map((t) => fresh.verify(bearer(t))));
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ status: 401 });
      }
    };

    await forgeries(50);
    expect(server.hits()).toBe(2); // one refetch, shared by all fifty
    // A steady spray, one forged kid after another: auth sees at most one fetch per interval.
    const before = server.hits();
    const started = Date.now();
    for (let i = 0; i < 8; i++) await forgeries(1);
    const elapsed = Date.now() - started;
    expect(server.hits() - before).toBeLessThanOrEqual(Math.floor(elapsed / MIN_INTERVAL_MS) + 1);
    // The good key still works after all that, from memory.
    const hits = server.hits();
    await expect(fresh.verify(bearer(await sign(key)))).resolves.toMatchObject({ handle: 'alice' });
    expect(server.hits()).toBe(hits);
  });

  it('accepts a key added to the JWKS right after a fetch on its first use (a rotation)', async ({
    expect,
  }) => {
    const keys = [key.publicJwk];
    const server = await startJwks(keys);
    const fresh = verifierFor(server.port);
    await fresh.verify(bearer(await sign(key)));
    expect(server.hits()).toBe(1);

    // The new key appears a moment after the gateway fetched: no cooldown makes the gateway refuse it.
    const rotated = await makeKey();
    keys.unshift(rotated.publicJwk);
    await expect(fresh.verify(bearer(await sign(rotated, claims({ sub: 'bob' }))))).resolves.toMatchObject({
      handle: 'bob',
    });
    expect(server.hits()).toBe(2);
    await expect(fresh.verify(bearer(await sign(key)))).resolves.toMatchObject({ handle: 'alice' });
    expect(server.hits()).toBe(2);
  });

  it('refuses a token before its nbf and accepts the same token once nbf has passed', async ({ expect }) => {
    const nbf = nowSeconds() + 2;
    const token = await sign(key, claims({ nbf }));
    const problem = await expectInvalidToken(verifier.verify(bearer(token)));
    expect(problem.message).toContain('"nbf"');
    await sleep(nbf * 1000 - Date.now() + 100);
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ handle: 'alice' });
  });

  it('does not serve a cached token past its exp', async ({ expect }) => {
    const exp = nowSeconds() + 2;
    const token = await sign(key, claims({ exp }));
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ expiresAt: exp });
    await expect(verifier.verify(bearer(token))).resolves.toMatchObject({ expiresAt: exp });
    await sleep(exp * 1000 - Date.now() + 100);
    const problem = await expectInvalidToken(verifier.verify(bearer(token)));
    expect(problem.message).toBe('the access token has expired');
  });
});

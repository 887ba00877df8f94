import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../kit/server.ts';
import { freePort, testEnv } from '../../kit/testing.ts';
import type { AuthConfig } from './config.ts';
import { authService } from './service.ts';
import {
  authorizationRequest,
  browse,
  CookieJar,
  discover,
  follow,
  insecure,
  locationOf,
  refresh,
  signIn,
  type TestClient,
} from './test-support.ts';

const PASSWORD = 'correct horse battery';
const API_SCOPE = 'tweets:read tweets:write follows:write';

async function startAuth(
  env?: NodeJS.ProcessEnv,
): Promise<{ auth: RunningService<AuthConfig>; env: NodeJS.ProcessEnv }> {
  let base = env;
  if (!base) {
    const port = await freePort();
    // The issuer is this service's own URL: the tests talk to it as if it were the gateway.
    base = testEnv('auth', { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  }
  return { auth: await startService(authService, base), env: base };
}

async function signUp(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('auth service', () => {
  let auth: RunningService<AuthConfig>;
  let issuer: string;
  let test: TestClient;

  beforeAll(async () => {
    ({ auth } = await startAuth());
    issuer = auth.ctx.config.PUBLIC_URL;
    expect(
      (await signUp(auth.url, { handle: 'alice', password: PASSWORD, displayName: 'Alice' })).status,
    ).toBe(201);
    test = await discover(issuer);
  });
  afterAll(() => auth?.close());

  describe('discovery', () => {
    it('lists the /oauth endpoints under the issuer at both well-known URLs', async () => {
      for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
        const response = await fetch(`${auth.url}${path}`);
        expect(response.status).toBe(200);
        const metadata = (await response.json()) as Record<string, unknown>;
        expect(metadata).toMatchObject({
          issuer,
          authorization_endpoint: `${issuer}/oauth/authorize`,
          token_endpoint: `${issuer}/oauth/token`,
          jwks_uri: `${issuer}/oauth/jwks`,
          revocation_endpoint: `${issuer}/oauth/revoke`,
          introspection_endpoint: `${issuer}/oauth/introspect`,
          userinfo_endpoint: `${issuer}/oauth/userinfo`,
          end_session_endpoint: `${issuer}/oauth/logout`,
          code_challenge_methods_supported: ['S256'],
          response_types_supported: ['code'],
        });
        expect(metadata.scopes_supported).toEqual(
          expect.arrayContaining([
            'openid',
            'offline_access',
            'tweets:read',
            'tweets:write',
            'follows:write',
          ]),
        );
        // client_credentials: the services' own clients (oauth mode between services).
        expect(metadata.grant_types_supported).toEqual([
          'authorization_code',
          'refresh_token',
          'client_credentials',
        ]);
      }
    });

    it('builds endpoint URLs from the forwarded host, as behind the gateway', async () => {
      const response = await fetch(`${auth.url}/.well-known/oauth-authorization-server`, {
        headers: {
          'x-forwarded-host': 'gateway.test:8080',
          'x-forwarded-proto': 'https',
          'x-forwarded-for': '203.0.113.9',
        },
      });
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(issuer);
      expect(metadata.token_endpoint).toBe('https://gateway.test:8080/oauth/token');
      expect(metadata.jwks_uri).toBe('https://gateway.test:8080/oauth/jwks');
    });
  });

  describe('authorization code + PKCE', () => {
    it('signs in through the login page and issues an RFC 9068 access token for the API', async () => {
      const { tokens } = await signIn(test, 'alice', PASSWORD);
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      // With resource indicators the answer's scope is the access token's: the API scopes.
      expect(tokens.scope).toBe(API_SCOPE);
      expect(tokens.refresh_token).toBeTruthy();
      expect(tokens.id_token).toBeTruthy();

      const header = decodeProtectedHeader(tokens.access_token);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      const jwks = createRemoteJWKSet(new URL(test.as.jwks_uri!));
      const { payload } = await jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: 'chaoscope-api',
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      expect(payload).toMatchObject({ sub: 'alice', client_id: 'chaoscope-cli', scope: API_SCOPE });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.exp! - payload.iat!).toBe(15 * 60);
    });

    it('shows an HTML login form with login and password fields and a strict CSP', async () => {
      const jar = new CookieJar();
      const start = await authorizationRequest(test);
      const first = await browse(jar, start.url);
      expect(first.status).toBe(303);
      const interaction = locationOf(first);
      expect(interaction.pathname).toMatch(/^\/oauth\/interaction\/[\w-]+$/);
      const page = await browse(jar, interaction);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.text).toContain(`action="${interaction.pathname}/login"`);
      expect(page.text).toMatch(/name="login"/);
      expect(page.text).toMatch(/name="password" type="password"/);
      expect(page.text).not.toMatch(/<script|https?:\/\/(?!127)/);
    });

    it('accepts the credentials posted to the interaction URL itself, and an IPv6 loopback redirect on any port', async () => {
      const { tokens, start } = await signIn(test, 'alice', PASSWORD, {
        postTo: 'interaction',
        redirectUri: 'http://[::1]:61234/callback',
      });
      expect(start.redirectUri).toBe('http://[::1]:61234/callback');
      expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    });

    it('answers a wrong password with the login page again, the same for an unknown handle', async () => {
      const attempt = async (login: string) => {
        const jar = new CookieJar();
        const start = await authorizationRequest(test);
        const toLogin = await follow(jar, await browse(jar, start.url), start.redirectUri);
        if (!('final' in toLogin)) throw new Error('expected the login page');
        const form = new URL(`${toLogin.final.url.pathname}/login`, toLogin.final.url);
        return {
          jar,
          form,
          start,
          answer: await browse(jar, form, { form: { login, password: 'not the password' } }),
        };
      };
      const wrong = await attempt('alice');
      const unknown = await attempt('nobody_here');
      for (const { answer } of [wrong, unknown]) {
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
        expect(answer.text).toContain('Wrong handle or password.');
        expect(answer.text).toMatch(/name="password"/);
      }
      const neutral = (text: string, login: string) =>
        text.replace(/\/oauth\/interaction\/[\w-]+/g, 'UID').replace(`value="${login}"`, 'LOGIN');
      expect(neutral(wrong.answer.text, 'alice')).toBe(neutral(unknown.answer.text, 'nobody_here'));

      // The same interaction still accepts the right password afterwards.
      const retried = await browse(wrong.jar, wrong.form, { form: { login: 'alice', password: PASSWORD } });
      const back = await follow(wrong.jar, retried, wrong.start.redirectUri);
      expect('redirectedTo' in back && back.redirectedTo.searchParams.get('code')).toBeTruthy();
    });

    it('refuses a redirect URI that is not loopback without redirecting to it', async () => {
      const start = await authorizationRequest(test, {
        redirectUri: 'http://attacker.example:8080/callback',
      });
      const answer = await browse(new CookieJar(), start.url);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('location')).toBeNull();
      expect(answer.text).toContain('redirect_uri');
    });

    it('requires PKCE with S256', async () => {
      for (const change of [
        (u: URL) => u.searchParams.delete('code_challenge'),
        (u: URL) => u.searchParams.set('code_challenge_method', 'plain'),
      ]) {
        const start = await authorizationRequest(test);
        change(start.url);
        const answer = await browse(new CookieJar(), start.url);
        expect(answer.status).toBe(303);
        const back = locationOf(answer);
        expect(back.origin + back.pathname).toBe(start.redirectUri);
        expect(back.searchParams.get('error')).toBe('invalid_request');
      }
    });

    it('asks for the password again in a browser that already has a session, and can switch accounts', async () => {
      expect(
        (await signUp(auth.url, { handle: 'carol', password: PASSWORD, displayName: 'Carol' })).status,
      ).toBe(201);
      const { jar } = await signIn(test, 'alice', PASSWORD);
      // A loopback redirect can be claimed by any local program (RFC 8252 §8.6): no silent sign-in.
      const start = await authorizationRequest(test);
      const again = await follow(jar, await browse(jar, start.url), start.redirectUri);
      expect(
        'final' in again && again.final.status === 200 && again.final.text.includes('name="password"'),
      ).toBe(true);
      const { tokens } = await signIn(test, 'carol', PASSWORD, { jar });
      const { payload } = await jwtVerify(
        tokens.access_token,
        createRemoteJWKSet(new URL(test.as.jwks_uri!)),
        { issuer, audience: 'chaoscope-api' },
      );
      expect(payload.sub).toBe('carol');
    });

    it('needs the interaction cookie: a post without it is an expired sign-in', async () => {
      const jar = new CookieJar();
      const start = await authorizationRequest(test);
      const interaction = locationOf(await browse(jar, start.url));
      const answer = await browse(new CookieJar(), new URL(`${interaction.pathname}/login`, interaction), {
        form: { login: 'alice', password: PASSWORD },
      });
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('expired');
    });

    it('answers an unknown or expired interaction with a page, not a stack trace', async () => {
      const answer = await browse(new CookieJar(), new URL(`${auth.url}/oauth/interaction/abcdefghijklmnop`));
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('expired');
    });
  });

  describe('refresh tokens', () => {
    it('rotates the refresh token and keeps issuing API tokens without a resource parameter', async () => {
      const { tokens } = await signIn(test, 'alice', PASSWORD);
      const next = await refresh(test, tokens.refresh_token!);
      expect(next.refresh_token).toBeTruthy();
      expect(next.refresh_token).not.toBe(tokens.refresh_token);
      const jwks = createRemoteJWKSet(new URL(test.as.jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(next.access_token, jwks, {
        issuer,
        audience: 'chaoscope-api',
        typ: 'at+jwt',
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: 'alice', scope: API_SCOPE, client_id: 'chaoscope-cli' });
    });

    it('revokes the whole grant when a rotated refresh token is used again', async () => {
      const { tokens } = await signIn(test, 'alice', PASSWORD);
      const first = await refresh(test, tokens.refresh_token!);
      await expect(refresh(test, tokens.refresh_token!)).rejects.toMatchObject({
        code: oauth.RESPONSE_BODY_ERROR,
        error: 'invalid_grant',
      });
      // The token the legitimate holder got from the rotation dies with the grant.
      await expect(refresh(test, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('revokes the grant when the refresh token is revoked (RFC 7009)', async () => {
      const { tokens } = await signIn(test, 'alice', PASSWORD);
      const response = await oauth.revocationRequest(
        test.as,
        test.client,
        oauth.None(),
        tokens.refresh_token!,
        insecure,
      );
      await oauth.processRevocationResponse(response);
      await expect(refresh(test, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('issues no refresh token unless offline_access comes with prompt=consent (OpenID Connect Core §11)', async () => {
      const start = await authorizationRequest(test);
      start.url.searchParams.delete('prompt');
      const jar = new CookieJar();
      const toLogin = await follow(jar, await browse(jar, start.url), start.redirectUri);
      if (!('final' in toLogin)) throw new Error('expected the login page');
      const posted = await browse(jar, new URL(`${toLogin.final.url.pathname}/login`, toLogin.final.url), {
        form: { login: 'alice', password: PASSWORD },
      });
      const back = await follow(jar, posted, start.redirectUri);
      if (!('redirectedTo' in back)) throw new Error('expected the redirect back');
      const params = oauth.validateAuthResponse(test.as, test.client, back.redirectedTo, start.state);
      const response = await oauth.authorizationCodeGrantRequest(
        test.as,
        test.client,
        oauth.None(),
        params,
        start.redirectUri,
        start.verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(test.as, test.client, response);
      expect(tokens.refresh_token).toBeUndefined();
      expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    });

    it('keeps OAuth error JSON on the token endpoint', async () => {
      const response = await fetch(test.as.token_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'nonsense',
          client_id: 'chaoscope-cli',
        }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    });
  });

  it('serves the logout confirmation as a page of its own', async () => {
    const { jar } = await signIn(test, 'alice', PASSWORD);
    const answer = await browse(jar, new URL(`${auth.url}/oauth/logout`));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(answer.text).toContain('form="op.logoutForm"');
    expect(answer.text).not.toContain('<script');
  });

  describe('accounts', () => {
    it('validates sign-up with a problem listing every issue', async () => {
      const response = await signUp(auth.url, { handle: 'No Way', password: 'short', displayName: '' });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await response.json()) as { errors: Array<{ pointer: string }> };
      expect(problem.errors.map((e) => e.pointer).sort()).toEqual([
        '/body/displayName',
        '/body/handle',
        '/body/password',
      ]);
    });

    it('refuses a taken handle with 409', async () => {
      const response = await signUp(auth.url, {
        handle: 'alice',
        password: 'another password',
        displayName: 'Other',
      });
      expect(response.status).toBe(409);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('answers whether an account exists, without password material', async () => {
      const found = await fetch(`${auth.url}/accounts/alice`);
      expect(found.status).toBe(200);
      const body = (await found.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['createdAt', 'displayName', 'handle']);
      expect(body).toMatchObject({ handle: 'alice', displayName: 'Alice' });
      expect((await fetch(`${auth.url}/accounts/nobody`)).status).toBe(404);
    });
  });
});

describe('auth service restart', () => {
  it('keeps signing keys, cookies keys and refresh tokens across a restart', async () => {
    const first = await startAuth();
    const issuer = first.auth.ctx.config.PUBLIC_URL;
    let tokens: oauth.TokenEndpointResponse;
    let kid: string | undefined;
    try {
      expect(
        (await signUp(first.auth.url, { handle: 'bob', password: PASSWORD, displayName: 'Bob' })).status,
      ).toBe(201);
      ({ tokens } = await signIn(await discover(issuer), 'bob', PASSWORD));
      kid = decodeProtectedHeader(tokens.access_token).kid;
    } finally {
      await first.auth.close();
    }

    const second = await startAuth(first.env);
    try {
      const test = await discover(issuer);
      const jwks = createRemoteJWKSet(new URL(test.as.jwks_uri!));
      const { payload } = await jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: 'chaoscope-api',
        typ: 'at+jwt',
      });
      expect(payload.sub).toBe('bob');
      const next = await refresh(test, tokens.refresh_token!);
      expect(decodeProtectedHeader(next.access_token).kid).toBe(kid);
      // The account survived too.
      await signIn(test, 'bob', PASSWORD);
    } finally {
      await second.auth.close();
    }
  });
});

/**
 * A user logging in the way a native app does (RFC 8252): the standard OAuth client library
 * oauth4webapi for discovery, PKCE and token requests, and a minimal "browser" (manual redirects,
 * a cookie jar) for the login page.
 */
import * as oauth from 'oauth4webapi';
import { request } from 'undici';

export const CLIENT_ID = 'chaoscope-cli';
export const REDIRECT_URI = 'http://127.0.0.1:53682/callback';
export const ALL_SCOPES = 'openid offline_access tweets:read tweets:write follows:write';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface Tokens {
  accessToken: string;
  refreshToken: string | undefined;
  expiresIn: number | undefined;
  scope: string | undefined;
}

export async function discover(base: string): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(base);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** Follow redirects by hand, carrying cookies, until the browser would land on the redirect URI. */
async function browse(
  start: string,
  jar: Map<string, string>,
  form?: Record<string, string>,
): Promise<{ url: string; status: number; body: string }> {
  let url = start;
  let method = form ? 'POST' : 'GET';
  let body: string | undefined = form ? new URLSearchParams(form).toString() : undefined;
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(REDIRECT_URI)) return { url, status: 302, body: '' };
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await request(url, { method: method as 'GET' | 'POST', headers, body });
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    const text = await response.body.text();
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      url = new URL(location, url).toString();
      method = 'GET';
      body = undefined;
      continue;
    }
    return { url, status: response.statusCode, body: text };
  }
  throw new Error('too many redirects');
}

/** Authorization code + PKCE, end to end. Throws with the login page's answer if it refuses. */
export async function login(
  base: string,
  handle: string,
  password: string,
  scope = ALL_SCOPES,
): Promise<Tokens> {
  const as = await discover(base);
  const client: oauth.Client = { client_id: CLIENT_ID };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorize = new URL(as.authorization_endpoint!);
  authorize.searchParams.set('client_id', CLIENT_ID);
  authorize.searchParams.set('redirect_uri', REDIRECT_URI);
  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('scope', scope);
  authorize.searchParams.set('state', state);
  authorize.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  authorize.searchParams.set('code_challenge_method', 'S256');
  if (scope.includes('offline_access')) authorize.searchParams.set('prompt', 'consent');

  const jar = new Map<string, string>();
  const page = await browse(authorize.toString(), jar);
  if (page.status !== 200 || !page.body.includes('name="login"'))
    throw new Error(`expected the login page, got ${page.status}`);
  const done = await browse(page.url, jar, { login: handle, password });
  if (!done.url.startsWith(REDIRECT_URI)) throw new Error(`login refused (${done.status})`);

  const params = oauth.validateAuthResponse(as, client, new URL(done.url), state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    REDIRECT_URI,
    verifier,
    insecure,
  );
  const result = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    response,
    scope.includes('openid') ? { requireIdToken: true } : undefined,
  );
  return {
    accessToken: result.access_token,
    refreshToken: result.refresh_token,
    expiresIn: result.expires_in,
    scope: result.scope,
  };
}

export async function refresh(base: string, refreshToken: string): Promise<Tokens> {
  const as = await discover(base);
  const client: oauth.Client = { client_id: CLIENT_ID };
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure);
  const result = await oauth.processRefreshTokenResponse(as, client, response);
  return {
    accessToken: result.access_token,
    refreshToken: result.refresh_token,
    expiresIn: result.expires_in,
    scope: result.scope,
  };
}

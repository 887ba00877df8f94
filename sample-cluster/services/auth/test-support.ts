import * as oauth from 'oauth4webapi';

/**
 * Test-only: the browser half of the authorization code flow (follow redirects by hand, keep
 * cookies, post the login form) next to oauth4webapi for the protocol half. Nothing listens on
 * the loopback redirect URI; the final redirect is read, as a native app's listener would.
 */

interface StoredCookie {
  value: string;
  path: string;
}

/** Just enough of RFC 6265 for one host: name, value, path, deletion. */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = val || '/';
        if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { value, path });
    }
  }

  header(url: URL): string | undefined {
    const pairs: string[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (
        url.pathname === cookie.path ||
        url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`)
      ) {
        pairs.push(`${key.slice(0, key.indexOf(';'))}=${cookie.value}`);
      }
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }
}

export interface Answer {
  readonly url: URL;
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** One request as a browser would make it, without following redirects. */
export async function browse(
  jar: CookieJar,
  url: URL,
  init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, {
    method: init.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    redirect: 'manual',
  });
  jar.store(response.headers.getSetCookie());
  return { url, status: response.status, headers: response.headers, text: await response.text() };
}

export function locationOf(answer: Answer): URL {
  const location = answer.headers.get('location');
  if (!location)
    throw new Error(
      `expected a redirect from ${answer.url.href}, got ${answer.status}: ${answer.text.slice(0, 300)}`,
    );
  return new URL(location, answer.url);
}

/**
 * oidc-provider's self-submitting form (it ends the previous session when another account signs in
 * in the same browser): what a browser's script would post.
 */
function autoSubmitForm(answer: Answer): { action: URL; form: Record<string, string> } | undefined {
  if (answer.status !== 200 || !answer.text.includes('<title>Submitting Callback</title>')) return undefined;
  const action = /<form method="post" action="([^"]+)">/.exec(answer.text)?.[1];
  if (!action) return undefined;
  const form: Record<string, string> = {};
  for (const [, name = '', value = ''] of answer.text.matchAll(
    /<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g,
  ))
    form[name] = value;
  return { action: new URL(action.replaceAll('&amp;', '&'), answer.url), form };
}

/** Follow redirects (as GETs) until one points at `stopAt`'s origin or a page is answered. */
export async function follow(
  jar: CookieJar,
  start: Answer,
  stopAt: string,
): Promise<{ final: Answer } | { redirectedTo: URL }> {
  let answer = start;
  for (let hops = 0; hops < 10; hops += 1) {
    const submit = autoSubmitForm(answer);
    if (submit) {
      answer = await browse(jar, submit.action, { form: submit.form });
      continue;
    }
    if (answer.status < 300 || answer.status >= 400) return { final: answer };
    const next = locationOf(answer);
    if (next.href.startsWith(stopAt)) return { redirectedTo: next };
    answer = await browse(jar, next);
  }
  throw new Error('too many redirects');
}

export const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface TestClient {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
}

export async function discover(
  issuer: string,
  discoveryHeaders?: Record<string, string>,
): Promise<TestClient> {
  const issuerUrl = new URL(issuer);
  const response = await oauth.discoveryRequest(issuerUrl, {
    ...insecure,
    algorithm: 'oidc',
    ...(discoveryHeaders ? { headers: discoveryHeaders } : {}),
  });
  const as = await oauth.processDiscoveryResponse(issuerUrl, response);
  return { as, client: { client_id: 'chaoscope-cli', id_token_signed_response_alg: 'ES256' } };
}

export interface AuthorizationStart {
  readonly url: URL;
  readonly state: string;
  readonly verifier: string;
  readonly redirectUri: string;
}

export async function authorizationRequest(
  { as, client }: TestClient,
  options: { redirectUri?: string; scope?: string; extra?: Record<string, string> } = {},
): Promise<AuthorizationStart> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const redirectUri =
    options.redirectUri ?? `http://127.0.0.1:${49_152 + Math.floor(Math.random() * 16_000)}/callback`;
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  const scope = options.scope ?? 'openid offline_access tweets:read tweets:write follows:write';
  url.searchParams.set('scope', scope);
  // OpenID Connect grants offline_access (a refresh token) only when consent is asked for.
  if (scope.split(' ').includes('offline_access')) url.searchParams.set('prompt', 'consent');
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  for (const [key, value] of Object.entries(options.extra ?? {})) url.searchParams.set(key, value);
  return { url, state, verifier, redirectUri };
}

/** Authorize as a person would: to the login page, post the credentials, back to the redirect URI. */
export async function signIn(
  test: TestClient,
  handle: string,
  password: string,
  options: { redirectUri?: string; scope?: string; postTo?: 'login' | 'interaction'; jar?: CookieJar } = {},
): Promise<{ tokens: oauth.TokenEndpointResponse; start: AuthorizationStart; jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const start = await authorizationRequest(test, options);
  const toLogin = await follow(jar, await browse(jar, start.url), start.redirectUri);
  if (!('final' in toLogin) || toLogin.final.status !== 200) throw new Error('expected the login page');
  const loginPage = toLogin.final.url;
  const postUrl =
    options.postTo === 'interaction' ? loginPage : new URL(`${loginPage.pathname}/login`, loginPage);
  const posted = await browse(jar, postUrl, { form: { login: handle, password } });
  const back = await follow(jar, posted, start.redirectUri);
  if (!('redirectedTo' in back))
    throw new Error(
      `login did not come back to the client: ${back.final.status} ${back.final.text.slice(0, 300)}`,
    );
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
  return { tokens, start, jar };
}

export async function refresh(test: TestClient, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.refreshTokenGrantRequest(
    test.as,
    test.client,
    oauth.None(),
    refreshToken,
    insecure,
  );
  return oauth.processRefreshTokenResponse(test.as, test.client, response);
}

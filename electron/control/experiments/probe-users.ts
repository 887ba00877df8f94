/**
 * Probe users: accounts the runner signs up through the gateway and logs in the way a native app
 * does (RFC 8252: authorization code + PKCE with the public client `chaoscope-cli` and a loopback
 * redirect), using the standard client library oauth4webapi. The login page is posted like a
 * browser would (manual redirects, a cookie jar). Passwords are random per run and never written
 * to a journal or report; handles are unique per run so runs never share state.
 */
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { request } from 'undici';

const CLIENT_ID = 'chaoscope-cli';
const SCOPE = 'openid tweets:read tweets:write follows:write';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface ProbeUser {
  readonly name: string;
  readonly handle: string;
  readonly accessToken: string;
}

/** A handle the cluster accepts (3-15 of a-z, 0-9, _), unique per run: x<5 of the run id>_<name>. */
export function probeHandle(runId: string, name: string): string {
  const run = runId.replaceAll(/[^a-z0-9]/g, '').slice(-5);
  return `x${run}_${name.replaceAll('-', '').slice(0, 8)}`;
}

/** How long setup keeps trying while the cluster is briefly unable to answer (a breaker still open). */
const SETUP_PATIENCE_MS = 45_000;

/** A failure worth another try: a 5xx or no answer, not a refusal. */
class Transient extends Error {}

export async function signUpAndLogIn(gateway: string, runId: string, name: string): Promise<ProbeUser> {
  const handle = probeHandle(runId, name);
  const password = randomBytes(18).toString('base64url');
  // A busy machine can make auth slow to hash a password, and the gateway's breaker to auth may
  // still be open from an earlier scenario: setup is not the hypothesis, so transient failures are
  // retried until SETUP_PATIENCE_MS, following Retry-After. A 409 after a retry means the earlier
  // attempt did create the account.
  let created = false;
  return persist(async (attempt) => {
    if (!created) {
      await signUp(gateway, handle, password, name, attempt);
      created = true;
    }
    return { name, handle, accessToken: await logIn(gateway, handle, password) };
  });
}

async function persist<T>(work: (attempt: number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + SETUP_PATIENCE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (!(error instanceof Transient) || Date.now() >= deadline) throw error;
      const hinted = error instanceof Transient ? retryAfterMs(error) : undefined;
      await new Promise((r) => setTimeout(r, Math.min(hinted ?? 500 * attempt, 5_000)));
    }
  }
}

function retryAfterMs(error: Transient): number | undefined {
  const seconds = Number((error.cause as { retryAfter?: string } | undefined)?.retryAfter);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

async function signUp(
  gateway: string,
  handle: string,
  password: string,
  name: string,
  attempt: number,
): Promise<void> {
  const answer = await request(`${gateway}/api/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle, password, displayName: `probe ${name}` }),
    signal: AbortSignal.timeout(15_000),
  }).catch((error: unknown) => {
    throw new Transient(`signing up probe user ${handle}: no answer (${String(error)})`);
  });
  const text = await answer.body.text();
  if (answer.statusCode === 201 || (answer.statusCode === 409 && attempt > 1)) return;
  const message = `signing up probe user ${handle} answered ${answer.statusCode}: ${text.slice(0, 200)}`;
  if (answer.statusCode >= 500)
    throw new Transient(message, { cause: { retryAfter: answer.headers['retry-after'] } });
  throw new Error(message);
}

async function logIn(gateway: string, handle: string, password: string): Promise<string> {
  const issuer = new URL(gateway);
  const discovery = await oauth
    .discoveryRequest(issuer, { algorithm: 'oidc', ...insecure })
    .catch((error: unknown) => {
      throw new Transient(`logging in ${handle}: discovery had no answer (${String(error)})`);
    });
  if (discovery.status >= 500)
    throw new Transient(`logging in ${handle}: discovery answered ${discovery.status}`);
  const as = await oauth.processDiscoveryResponse(issuer, discovery);
  const client: oauth.Client = { client_id: CLIENT_ID };
  // RFC 8252 §7.3: any loopback port is accepted; nothing listens, the redirect is read, not followed.
  const redirectUri = `http://127.0.0.1:${40_000 + (randomBytes(2).readUInt16BE() % 20_000)}/callback`;
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorize = new URL(as.authorization_endpoint!);
  for (const [k, v] of Object.entries({
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: SCOPE,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(k, v);

  const jar = new Map<string, string>();
  const page = await browse(authorize.toString(), jar, redirectUri);
  if (page.status !== 200 || !page.body.includes('name="login"')) {
    const message = `logging in ${handle}: expected the login page, got ${page.status}`;
    throw page.status >= 500 ? new Transient(message) : new Error(message);
  }
  const done = await browse(page.url, jar, redirectUri, { login: handle, password });
  if (!done.url.startsWith(redirectUri)) {
    const message = `logging in ${handle}: refused (${done.status})`;
    throw done.status >= 500 ? new Transient(message) : new Error(message);
  }

  const params = oauth.validateAuthResponse(as, client, new URL(done.url), state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri,
    verifier,
    insecure,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: true });
  return result.access_token;
}

/** Follows redirects by hand, carrying cookies, until the browser would land on the redirect URI. */
async function browse(
  start: string,
  jar: Map<string, string>,
  redirectUri: string,
  form?: Record<string, string>,
): Promise<{ url: string; status: number; body: string }> {
  let url = start;
  let method: 'GET' | 'POST' = form ? 'POST' : 'GET';
  let body: string | undefined = form ? new URLSearchParams(form).toString() : undefined;
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(redirectUri)) return { url, status: 302, body: '' };
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await request(url, { method, headers, body, signal: AbortSignal.timeout(15_000) }).catch(
      (error: unknown) => {
        throw new Transient(`logging in: ${new URL(url).pathname} had no answer (${String(error)})`);
      },
    );
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
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
  throw new Error('too many redirects while logging in');
}

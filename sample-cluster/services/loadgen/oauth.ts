import { randomInt } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { CookieJar } from './cookie-jar.ts';
import {
  describeAnswer,
  headerValue,
  HttpClient,
  NoAnswerError,
  toNoAnswer,
  type HttpAnswer,
} from './http.ts';

export const DEFAULT_CLIENT_ID = 'chaoscope-cli';
export const DEFAULT_SCOPE = 'openid offline_access tweets:read tweets:write follows:write';
const MAX_HOPS = 12;

export interface TokenSet {
  readonly accessToken: string;
  /** Absent when the server did not grant offline_access; the user then logs in again on expiry. */
  readonly refreshToken: string | undefined;
  /** Seconds the access token lives, as the token endpoint said. */
  readonly expiresIn: number;
  readonly scope: string | undefined;
}

export type LoginFailureKind =
  /** The login form came back instead of a redirect: wrong handle or password. */
  | 'credentials'
  /** The refresh token is no longer good (expired, rotated away, revoked): log in again. */
  | 'invalid_grant'
  /** The gateway or the auth service did not answer usefully (down, 5xx, timeout): retry later. */
  | 'unavailable'
  /** An answer that breaks the protocol (wrong issuer, missing code, bad token response). */
  | 'protocol';

export class LoginError extends Error {
  override readonly name = 'LoginError';
  readonly kind: LoginFailureKind;
  /** HTTP status of the answer that ended the flow; null when none came. */
  readonly status: number | null;
  /** Which step failed, e.g. "GET /oauth/auth" — for the recent-errors list. */
  readonly step: string;
  constructor(kind: LoginFailureKind, status: number | null, step: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
    this.status = status;
    this.step = step;
  }
}

export interface PkceClientOptions {
  /** The gateway's public URL, which is also the OAuth issuer. */
  readonly baseUrl: string;
  readonly clientId?: string;
  readonly scope?: string;
  /** RFC 8707 resource indicator, for servers that issue JWT access tokens per resource. */
  readonly resource?: string;
  /** Loopback redirect URI (RFC 8252); by default a fresh random port per login. Nothing listens there. */
  readonly redirectUri?: string;
  readonly http?: HttpClient;
  readonly timeoutMs?: number;
}

/**
 * An OAuth 2.0 public client doing what a native app does: authorization code + PKCE with a
 * loopback redirect, then refresh with rotation. oauth4webapi builds and checks every protocol
 * message; the part a browser would do (follow redirects, keep cookies, post the login form) is
 * done by hand, since nothing needs to listen on the redirect URI when the redirects are read here.
 */
export class PkceClient {
  readonly issuer: URL;
  readonly client: oauth.Client;
  readonly scope: string;
  readonly #resource: string | undefined;
  readonly #redirectUri: string | undefined;
  readonly #http: HttpClient;
  readonly #ownsHttp: boolean;
  #metadata: oauth.AuthorizationServer | undefined;

  constructor(options: PkceClientOptions) {
    this.issuer = new URL(options.baseUrl.replace(/\/+$/, ''));
    this.client = { client_id: options.clientId ?? DEFAULT_CLIENT_ID, token_endpoint_auth_method: 'none' };
    this.scope = options.scope ?? DEFAULT_SCOPE;
    this.#resource = options.resource;
    this.#redirectUri = options.redirectUri;
    this.#ownsHttp = !options.http;
    this.#http = options.http ?? new HttpClient({ timeoutMs: options.timeoutMs ?? 10_000 });
  }

  /** Authorization server metadata: OIDC discovery first, RFC 8414 as the fallback. Cached once good. */
  async metadata(): Promise<oauth.AuthorizationServer> {
    if (this.#metadata) return this.#metadata;
    let lastError: unknown;
    for (const algorithm of ['oidc', 'oauth2'] as const) {
      try {
        const response = await oauth.discoveryRequest(this.issuer, { ...this.#requestOptions(), algorithm });
        this.#metadata = await oauth.processDiscoveryResponse(this.issuer, response);
        return this.#metadata;
      } catch (error) {
        lastError = error;
      }
    }
    throw this.#failure(lastError, 'GET /.well-known/openid-configuration');
  }

  /** Log in as a person would through the login page, and exchange the code for tokens. */
  async login(handle: string, password: string): Promise<TokenSet> {
    const as = await this.metadata();
    if (!as.authorization_endpoint)
      throw new LoginError(
        'protocol',
        null,
        'discovery',
        'the authorization server lists no authorization_endpoint',
      );
    const redirectUri = this.#redirectUri ?? `http://127.0.0.1:${randomInt(49_152, 65_535)}/callback`;
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint);
    const params = authorizationUrl.searchParams;
    params.set('client_id', this.client.client_id);
    params.set('redirect_uri', redirectUri);
    params.set('response_type', 'code');
    params.set('scope', this.scope);
    params.set('state', state);
    params.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    params.set('code_challenge_method', 'S256');
    // OpenID Connect honours offline_access (a refresh token) only when consent is asked for;
    // the first-party client's consent is granted without a page.
    if (this.scope.split(' ').includes('offline_access')) params.set('prompt', 'consent');
    if (this.#resource) params.set('resource', this.#resource);

    const callback = await this.#browse(authorizationUrl, redirectUri, handle, password);
    let callbackParams: URLSearchParams;
    try {
      callbackParams = oauth.validateAuthResponse(as, this.client, callback, state);
    } catch (error) {
      const denied = error instanceof oauth.AuthorizationResponseError;
      throw new LoginError(
        denied ? 'credentials' : 'protocol',
        null,
        'authorization response',
        `the authorization response was refused: ${describeOAuthError(error)}`,
        error,
      );
    }
    const step = `POST ${new URL(as.token_endpoint ?? '/token', this.issuer).pathname}`;
    try {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        this.client,
        oauth.None(),
        callbackParams,
        redirectUri,
        verifier,
        {
          ...this.#requestOptions(),
          ...(this.#resource ? { additionalParameters: { resource: this.#resource } } : {}),
        },
      );
      return toTokenSet(await oauth.processAuthorizationCodeResponse(as, this.client, response));
    } catch (error) {
      throw this.#failure(error, step);
    }
  }

  /** Trade a refresh token for new tokens; the answer's refresh token replaces the old one (rotation). */
  async refresh(refreshToken: string): Promise<TokenSet> {
    const as = await this.metadata();
    const step = `POST ${new URL(as.token_endpoint ?? '/token', this.issuer).pathname}`;
    try {
      const response = await oauth.refreshTokenGrantRequest(as, this.client, oauth.None(), refreshToken, {
        ...this.#requestOptions(),
        ...(this.#resource ? { additionalParameters: { resource: this.#resource } } : {}),
      });
      const tokens = toTokenSet(await oauth.processRefreshTokenResponse(as, this.client, response));
      // A server that does not rotate leaves the old refresh token good.
      return tokens.refreshToken ? tokens : { ...tokens, refreshToken };
    } catch (error) {
      throw this.#failure(error, step);
    }
  }

  /** Forget the metadata, e.g. after the gateway came back on another configuration. */
  forgetMetadata(): void {
    this.#metadata = undefined;
  }

  async close(): Promise<void> {
    if (this.#ownsHttp) await this.#http.close();
  }

  /**
   * Follow the authorization request through the login page to the redirect URI, keeping cookies
   * like a browser. Returns the redirect URI with its query (code, state, iss).
   */
  async #browse(start: URL, redirectUri: string, handle: string, password: string): Promise<URL> {
    const jar = new CookieJar();
    const posted = new Set<string>();
    let url = start;
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const step = `${method} ${url.pathname}`;
      const headers: Record<string, string> = { accept: 'text/html,application/json;q=0.9' };
      const cookie = jar.header(url);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      let answer: HttpAnswer;
      try {
        answer = await this.#http.send(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      } catch (error) {
        throw unavailable(error, step);
      }
      jar.store(url, answer.headers['set-cookie']);

      const location = headerValue(answer.headers, 'location');
      if (answer.status >= 300 && answer.status < 400 && location) {
        const next = new URL(location, url);
        if (isRedirectUri(next, redirectUri)) return next;
        // 307/308 repeat the request as it was; every other redirect becomes a GET.
        if (answer.status !== 307 && answer.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      if (answer.status >= 500 || answer.status === 429) {
        throw new LoginError('unavailable', answer.status, step, describeAnswer(answer.status, answer.text));
      }
      if (answer.status === 200 && method === 'GET') {
        // The login page again after the credentials were posted: they were refused.
        if (posted.has(url.pathname))
          throw new LoginError(
            'credentials',
            answer.status,
            step,
            `login refused: ${describeAnswer(answer.status, answer.text)}`,
          );
        // The login page: post the credentials where its form says (the interaction URL itself by default).
        posted.add(url.pathname);
        const target = formAction(answer.text, url) ?? url;
        posted.add(target.pathname);
        url = target;
        method = 'POST';
        body = new URLSearchParams({ login: handle, password }).toString();
        continue;
      }
      if (method === 'POST' && (answer.status === 200 || (answer.status >= 400 && answer.status < 500))) {
        throw new LoginError(
          'credentials',
          answer.status,
          step,
          `login refused: ${describeAnswer(answer.status, answer.text)}`,
        );
      }
      throw new LoginError(
        'protocol',
        answer.status,
        step,
        `unexpected answer during login: ${describeAnswer(answer.status, answer.text)}`,
      );
    }
    throw new LoginError(
      'protocol',
      null,
      'login',
      `more than ${MAX_HOPS} redirects without reaching the redirect URI`,
    );
  }

  #requestOptions() {
    return {
      [oauth.customFetch]: this.#http.fetch,
      // The cluster speaks plain HTTP on loopback.
      [oauth.allowInsecureRequests]: this.issuer.protocol === 'http:',
      signal: () => this.#http.deadline(),
    };
  }

  #failure(error: unknown, step: string): LoginError {
    if (error instanceof LoginError) return error;
    if (error instanceof oauth.ResponseBodyError) {
      const kind =
        error.error === 'invalid_grant' ? 'invalid_grant' : error.status >= 500 ? 'unavailable' : 'protocol';
      return new LoginError(kind, error.status, step, describeOAuthError(error), error);
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      return new LoginError('protocol', error.status, step, describeOAuthError(error), error);
    }
    if (error instanceof oauth.OperationProcessingError) {
      // A non-conform answer from a proxy in trouble (a 502/503 problem instead of JSON) is unavailability.
      const status = (error.cause as { status?: unknown } | undefined)?.status;
      if (typeof status === 'number' && (status >= 500 || status === 429)) {
        return new LoginError('unavailable', status, step, `${step} answered ${status}`, error);
      }
      return new LoginError(
        'protocol',
        typeof status === 'number' ? status : null,
        step,
        describeOAuthError(error),
        error,
      );
    }
    return unavailable(error, step);
  }
}

function unavailable(error: unknown, step: string): LoginError {
  const noAnswer = error instanceof NoAnswerError ? error : toNoAnswer(error, 0);
  return new LoginError('unavailable', null, step, `${step}: ${noAnswer.message}`, noAnswer);
}

function toTokenSet(response: oauth.TokenEndpointResponse): TokenSet {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    expiresIn: typeof response.expires_in === 'number' ? response.expires_in : 300,
    scope: response.scope,
  };
}

function isRedirectUri(candidate: URL, redirectUri: string): boolean {
  const expected = new URL(redirectUri);
  return candidate.origin === expected.origin && candidate.pathname === expected.pathname;
}

/** Where the login form posts to, when the page names it. */
function formAction(html: string, page: URL): URL | undefined {
  const match = /<form\b[^>]*\baction\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(html);
  const action = match?.[1] ?? match?.[2];
  if (!action) return undefined;
  try {
    const url = new URL(action.replaceAll('&amp;', '&'), page);
    return url.origin === page.origin ? url : undefined;
  } catch {
    return undefined;
  }
}

function describeOAuthError(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError)
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ''} (${error.status})`;
  if (error instanceof oauth.AuthorizationResponseError)
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
  if (error instanceof oauth.WWWAuthenticateChallengeError)
    return `${error.status}: ${error.cause.map((c) => c.parameters.error_description ?? c.parameters.error ?? c.scheme).join('; ')}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One complete code + PKCE login through the gateway, for tests and tools:
 * `const { accessToken, refreshToken } = await loginWithPkce('http://127.0.0.1:8080', 'alice', 'secret-pw')`.
 * Throws a LoginError when no refresh token is issued, since the public client asks for offline_access.
 */
export async function loginWithPkce(
  baseUrl: string,
  handle: string,
  password: string,
  options: Omit<PkceClientOptions, 'baseUrl' | 'http'> = {},
): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }> {
  const client = new PkceClient({ ...options, baseUrl });
  try {
    const tokens = await client.login(handle, password);
    if (!tokens.refreshToken)
      throw new LoginError(
        'protocol',
        200,
        'token',
        'the token endpoint issued no refresh token (was offline_access granted?)',
      );
    return {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresIn: tokens.expiresIn,
    };
  } finally {
    await client.close();
  }
}

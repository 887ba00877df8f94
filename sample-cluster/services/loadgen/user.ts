import { randomUUID } from 'node:crypto';
import { backoffDelay } from '../../kit/registry-client.ts';
import {
  describeAnswer,
  headerValue,
  HttpClient,
  NoAnswerError,
  parseJson,
  type HttpAnswer,
} from './http.ts';
import { LoginError, PkceClient } from './oauth.ts';
import type { Operation } from './settings.ts';
import { LoadStats, type Outcome, type RequestInfo } from './stats.ts';

export const DEGRADED_HEADER = 'x-chaoscope-degraded';
const POST_ATTEMPTS = 3;
const RETRY_AFTER_CAP_MS = 2_000;
const LOGIN_BACKOFF = { initialMs: 500, maxMs: 15_000 };

export interface UserContext {
  /** The gateway's public URL. */
  readonly baseUrl: URL;
  readonly http: HttpClient;
  readonly oauth: PkceClient;
  readonly stats: LoadStats;
  /** Told about every failed sign-up, login or refresh (the generator logs them, throttled). */
  readonly onSessionError?: (user: SimulatedUser, error: LoginError) => void;
  readonly now?: () => number;
}

/**
 * Everything a SimulatedUser needs, on its own (outside a LoadGenerator): for tests and tools that
 * want a real user of the public API, e.g.
 * `const ctx = userContext(url); const alice = new SimulatedUser({ handle: 'alice', password }, ctx);`
 * then `await alice.signUp(); await alice.postTweet('hi'); ctx.stats.snapshot(); await ctx.close();`.
 */
export function userContext(
  baseUrl: string,
  options: { timeoutMs?: number; clientId?: string; resource?: string } = {},
): UserContext & { close(): Promise<void> } {
  const lifecycle = new AbortController();
  const http = new HttpClient({ timeoutMs: options.timeoutMs ?? 5_000, signal: lifecycle.signal });
  const oauth = new PkceClient({
    baseUrl,
    http,
    ...(options.clientId ? { clientId: options.clientId } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  });
  return {
    baseUrl: new URL(baseUrl),
    http,
    oauth,
    stats: new LoadStats(),
    close: async () => {
      lifecycle.abort();
      await http.destroy();
    },
  };
}

export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly degraded: boolean;
  readonly latencyMs: number;
}

interface Session {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number;
  lifetimeMs: number;
}

/**
 * One person using the public API: signs up once, logs in with code + PKCE, keeps the access token
 * fresh with the newest refresh token, and logs in again when the gateway says 401. Every request
 * it makes is counted in the shared stats as that person would have seen it.
 */
export class SimulatedUser {
  readonly handle: string;
  readonly password: string;
  readonly displayName: string;
  /** Handles this user follows, as far as this process knows. */
  readonly following = new Set<string>();
  /** The follows made at start are in place. */
  seeded = false;
  readonly #ctx: UserContext;
  readonly #now: () => number;
  #signedUp = false;
  #session: Session | null = null;
  #establishing: Promise<string | null> | null = null;
  #failures = 0;
  #retryAt = 0;
  readonly #followChanges = new Set<string>();

  constructor(identity: { handle: string; password: string; displayName?: string }, ctx: UserContext) {
    this.handle = identity.handle;
    this.password = identity.password;
    this.displayName = identity.displayName ?? identity.handle;
    this.#ctx = ctx;
    this.#now = ctx.now ?? Date.now;
  }

  get signedUp(): boolean {
    return this.#signedUp;
  }

  get hasSession(): boolean {
    return this.#session !== null && this.#session.expiresAt > this.#now();
  }

  /** False while backing off after failed logins: a tick for this user then does nothing. */
  canTry(): boolean {
    return this.hasSession || this.#now() >= this.#retryAt;
  }

  /** Forget the tokens (the gateway said 401): the next request logs in again. */
  dropSession(): void {
    this.#session = null;
  }

  /**
   * A usable access token: the current one, a refreshed one when it is about to expire, or a
   * fresh login. Null when none can be had now (the failure is counted; retried after a backoff).
   * Concurrent callers share one login or refresh.
   */
  async accessToken(): Promise<string | null> {
    const session = this.#session;
    if (session) {
      const remaining = session.expiresAt - this.#now();
      if (remaining > refreshMargin(session.lifetimeMs)) return session.accessToken;
      // A refresh failed a moment ago for want of an answer: keep the token while it lasts.
      if (remaining > 0 && this.#now() < this.#retryAt) return session.accessToken;
    }
    this.#establishing ??= this.#establish().finally(() => {
      this.#establishing = null;
    });
    return this.#establishing;
  }

  /** POST /api/accounts; an existing account (409) is as good as a new one. */
  async signUp(): Promise<boolean> {
    const answer = await this.#send(
      'signup',
      {
        method: 'POST',
        path: '/api/accounts',
        body: { handle: this.handle, password: this.password, displayName: this.displayName },
      },
      [409],
    );
    if (answer && (answer.status === 201 || answer.status === 200 || answer.status === 409)) {
      this.#signedUp = true;
      return true;
    }
    return false;
  }

  /**
   * POST /api/tweets with an Idempotency-Key. Unavailability (502/503/504, no answer) is retried with
   * the same key, so a retry never posts twice; the latency counted is the whole wait the user had.
   */
  async postTweet(text: string): Promise<ApiResult | null> {
    const token = await this.accessToken();
    if (!token) return null;
    const key = randomUUID();
    const request = { method: 'POST', path: '/api/tweets' } as const;
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      let answer: HttpAnswer | undefined;
      let failure: NoAnswerError | undefined;
      try {
        answer = await this.#ctx.http.send(new URL(request.path, this.#ctx.baseUrl), {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({ text }),
        });
      } catch (error) {
        if (this.#ctx.http.stopped) return null;
        failure =
          error instanceof NoAnswerError ? error : new NoAnswerError('network', String(error), 0, error);
      }
      const retryable =
        failure !== undefined || (answer !== undefined && [502, 503, 504].includes(answer.status));
      if (retryable && attempt < POST_ATTEMPTS && !this.#ctx.http.stopped) {
        this.#ctx.stats.retried('post');
        await this.#ctx.http.sleep(retryDelay(answer, attempt));
        continue;
      }
      const latencyMs = performance.now() - started;
      if (failure || !answer) {
        this.#ctx.stats.record('post', request, {
          kind: failure?.kind ?? 'network',
          latencyMs,
          detail: failure?.message ?? 'no answer',
        });
        return null;
      }
      return this.#finish('post', request, answer, latencyMs);
    }
  }

  readTimeline(limit = 20): Promise<ApiResult | null> {
    return this.call('timeline', { method: 'GET', path: `/api/timeline?limit=${limit}` });
  }

  readProfile(handle: string): Promise<ApiResult | null> {
    return this.call('profile', { method: 'GET', path: `/api/users/${handle}` });
  }

  readTweetsOf(handle: string, limit = 20): Promise<ApiResult | null> {
    return this.call('profile', { method: 'GET', path: `/api/users/${handle}/tweets?limit=${limit}` });
  }

  /** A follow or unfollow of this handle is under way (a second one could overtake it). */
  changingFollow(handle: string): boolean {
    return this.#followChanges.has(handle);
  }

  follow(handle: string): Promise<ApiResult | null> {
    return this.#changeFollow(handle, true);
  }

  unfollow(handle: string): Promise<ApiResult | null> {
    return this.#changeFollow(handle, false);
  }

  // `following` changes before the request and is put back if it fails, so concurrent ticks of
  // one user decide on what is already under way (two unfollows cannot both see three follows).
  async #changeFollow(handle: string, follow: boolean): Promise<ApiResult | null> {
    const had = this.following.has(handle);
    if (follow) this.following.add(handle);
    else this.following.delete(handle);
    this.#followChanges.add(handle);
    try {
      const result = await this.call('follow', {
        method: follow ? 'PUT' : 'DELETE',
        path: `/api/users/${handle}/follow`,
      });
      if (!(result && result.status < 300)) {
        if (had) this.following.add(handle);
        else this.following.delete(handle);
      }
      return result;
    } finally {
      this.#followChanges.delete(handle);
    }
  }

  /** An authenticated request to the public API, counted under `operation`. Null when no answer came or no session could be had. */
  async call(
    operation: Operation,
    request: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown },
  ): Promise<ApiResult | null> {
    const token = await this.accessToken();
    if (!token) return null;
    return this.#send(operation, request, [], token);
  }

  async #send(
    operation: Operation,
    request: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; body?: unknown },
    accept: readonly number[],
    token?: string,
  ): Promise<ApiResult | null> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let answer: HttpAnswer;
    try {
      answer = await this.#ctx.http.send(new URL(request.path, this.#ctx.baseUrl), {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      });
    } catch (error) {
      if (this.#ctx.http.stopped) return null;
      const e =
        error instanceof NoAnswerError ? error : new NoAnswerError('network', String(error), 0, error);
      this.#ctx.stats.record(operation, request, { kind: e.kind, latencyMs: e.latencyMs, detail: e.message });
      return null;
    }
    return this.#finish(operation, request, answer, answer.latencyMs, accept);
  }

  #finish(
    operation: Operation,
    request: RequestInfo,
    answer: HttpAnswer,
    latencyMs: number,
    accept: readonly number[] = [],
  ): ApiResult {
    const body = parseJson(answer.text);
    const degraded =
      headerValue(answer.headers, DEGRADED_HEADER) !== undefined ||
      (typeof body === 'object' && body !== null && (body as { degraded?: unknown }).degraded === true);
    const outcome: Outcome = {
      kind: 'answer',
      status: answer.status,
      latencyMs,
      degraded,
      ...(answer.status >= 400 ? { detail: describeAnswer(answer.status, answer.text) } : {}),
    };
    this.#ctx.stats.record(operation, request, outcome, accept);
    // The token was refused (expired early, revoked, signing key rotated): log in again next time.
    if (answer.status === 401) this.dropSession();
    return { status: answer.status, body, headers: answer.headers, degraded, latencyMs };
  }

  async #establish(): Promise<string | null> {
    const session = this.#session;
    if (session?.refreshToken) {
      const refreshed = await this.#refresh(session);
      if (refreshed) return refreshed;
      // A refresh that failed for want of an answer leaves a still-valid token usable.
      if (this.#session && this.#session.expiresAt > this.#now()) return this.#session.accessToken;
    }
    if (this.#now() < this.#retryAt) return null;
    if (!this.#signedUp && !(await this.signUp())) {
      if (this.#ctx.http.stopped) return null;
      this.#ctx.onSessionError?.(
        this,
        new LoginError(
          'unavailable',
          null,
          'POST /api/accounts',
          'sign-up failed (the reason is in recentErrors)',
        ),
      );
      this.#backOff();
      return null;
    }
    return this.#login();
  }

  async #refresh(session: Session): Promise<string | null> {
    const started = performance.now();
    const request = { method: 'POST', path: 'refresh_token grant' };
    const requestedAt = this.#now();
    try {
      const tokens = await this.#ctx.oauth.refresh(session.refreshToken!);
      this.#ctx.stats.record('refresh', request, {
        kind: 'answer',
        status: 200,
        latencyMs: performance.now() - started,
      });
      this.#adopt(tokens, requestedAt);
      this.#failures = 0;
      this.#retryAt = 0;
      return tokens.accessToken;
    } catch (error) {
      if (this.#ctx.http.stopped) return null;
      const e = asLoginError(error);
      this.#recordFailure('refresh', e, performance.now() - started);
      // Rotated away, revoked or expired: only a new login helps.
      if (e.kind !== 'unavailable') this.#session = null;
      else this.#backOff();
      return null;
    }
  }

  async #login(): Promise<string | null> {
    const started = performance.now();
    const requestedAt = this.#now();
    try {
      const tokens = await this.#ctx.oauth.login(this.handle, this.password);
      this.#ctx.stats.record(
        'login',
        { method: 'GET', path: 'authorization code + PKCE' },
        { kind: 'answer', status: 200, latencyMs: performance.now() - started },
      );
      this.#adopt(tokens, requestedAt);
      this.#failures = 0;
      this.#retryAt = 0;
      return tokens.accessToken;
    } catch (error) {
      if (this.#ctx.http.stopped) return null;
      const e = asLoginError(error);
      this.#recordFailure('login', e, performance.now() - started);
      // Refused credentials may mean the account is gone (auth lost its data): sign up again.
      if (e.kind === 'credentials') this.#signedUp = false;
      this.#backOff();
      return null;
    }
  }

  /**
   * Count the token's life from before it was asked for, less a second: the server counts from when
   * it issued the token, in whole seconds, so the token must not outlive its server-side expiry here.
   */
  #adopt(
    tokens: { accessToken: string; refreshToken: string | undefined; expiresIn: number },
    requestedAt: number,
  ): void {
    const lifetimeMs = Math.max(1, tokens.expiresIn) * 1000;
    this.#session = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: requestedAt + lifetimeMs - 1_000,
      lifetimeMs,
    };
  }

  #recordFailure(operation: 'login' | 'refresh', error: LoginError, latencyMs: number): void {
    const [method = 'POST', path = error.step] = error.step.split(' ', 2);
    const outcome: Outcome =
      error.status === null
        ? { kind: isTimeout(error) ? 'timeout' : 'network', latencyMs, detail: error.message }
        : { kind: 'answer', status: error.status, failed: true, latencyMs, detail: error.message };
    this.#ctx.stats.record(operation, { method, path }, outcome);
    this.#ctx.onSessionError?.(this, error);
  }

  #backOff(): void {
    this.#retryAt = this.#now() + backoffDelay(this.#failures, LOGIN_BACKOFF);
    this.#failures += 1;
  }
}

/** Refresh ahead of expiry: a quarter of the token's life, at most a minute. */
export function refreshMargin(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 4);
}

function retryDelay(answer: HttpAnswer | undefined, attempt: number): number {
  const retryAfter = answer ? Number(headerValue(answer.headers, 'retry-after')) : Number.NaN;
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter * 1000, RETRY_AFTER_CAP_MS);
  return Math.min(200 * 2 ** (attempt - 1), RETRY_AFTER_CAP_MS) * (0.5 + Math.random() / 2);
}

function asLoginError(error: unknown): LoginError {
  if (error instanceof LoginError) return error;
  return new LoginError(
    'unavailable',
    null,
    'login',
    error instanceof Error ? error.message : String(error),
    error,
  );
}

function isTimeout(error: LoginError): boolean {
  const cause = error.cause;
  return cause instanceof NoAnswerError ? cause.kind === 'timeout' : /deadline|timeout/i.test(error.message);
}

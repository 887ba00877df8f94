import type { Readable } from 'node:stream';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { ClientCall, ServiceTelemetry } from '../../telemetry/instrument/types.ts';
import { BreakerOpenError, type BreakerRegistry } from './breaker.ts';
import { NoInstanceError, type Discovery, type Instance } from './discovery-types.ts';
import { HttpProblem } from './problem.ts';
import type { TrustAgent } from './trust/agent.ts';
import { SERVICE_AUTHORIZATION_HEADER } from './trust/protocol.ts';

export interface CallOptions<T> {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Per-call deadline; the edge's breaker timeout applies too. */
  readonly timeoutMs?: number;
  /** Propagated as x-request-id so one request can be followed across services. */
  readonly requestId?: string;
  /** Served instead when the call fails or the breaker refuses it; the response is marked degraded. */
  readonly fallback?: (error: unknown) => T | Promise<T>;
  /** Throw an UpstreamError for 4xx answers too (default: return them). */
  readonly throwOn4xx?: boolean;
}

export interface CallResult<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, string | string[] | undefined>;
  /** True when the body came from the fallback, not from the callee. */
  readonly degraded: boolean;
  /** What went wrong when degraded. */
  readonly cause?: string;
  /** The instance that answered. */
  readonly instance?: string;
}

/**
 * A failed call to another service, already shaped as the problem this service should answer
 * with: 503 when the callee is unreachable or its breaker is open, 504 on timeout, 502 when it
 * answered with a server error.
 */
export class UpstreamError extends HttpProblem {
  readonly callee: string;
  readonly upstreamStatus: number | null;

  constructor(
    callee: string,
    status: number,
    detail: string,
    upstreamStatus: number | null = null,
    upstreamBody?: unknown,
  ) {
    super(status, detail, {
      type: 'https://chaoscope.dev/problems/upstream',
      extensions: {
        callee,
        ...(upstreamStatus !== null ? { upstreamStatus } : {}),
        ...(upstreamBody && status < 500 ? { upstream: upstreamBody } : {}),
      },
      headers: status === 503 ? { 'retry-after': '1' } : {},
    });
    this.callee = callee;
    this.upstreamStatus = upstreamStatus;
  }
}

class ServerErrorAnswer extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(`answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

const agent = new Agent({
  keepAliveTimeout: 10_000,
  keepAliveMaxTimeout: 30_000,
  connections: 128,
  connect: { timeout: 2_000 },
});

/** Calls from one service to the others: discovery, one breaker per edge, caller identity. */
export class ServiceClient {
  private readonly caller: string;
  private readonly discovery: Discovery;
  private readonly breakers: BreakerRegistry;
  private readonly log: Logger;
  /** Present when the service exports telemetry; the outbox reports through it too. */
  readonly telemetry: ServiceTelemetry | undefined;
  /** Present when the cluster runs with trust: it decides transport and credentials per call. */
  readonly #trust: TrustAgent | undefined;

  constructor(options: {
    caller: string;
    discovery: Discovery;
    breakers: BreakerRegistry;
    log: Logger;
    telemetry?: ServiceTelemetry | undefined;
    trust?: TrustAgent | undefined;
  }) {
    this.caller = options.caller;
    this.discovery = options.discovery;
    this.breakers = options.breakers;
    this.log = options.log;
    this.telemetry = options.telemetry;
    this.#trust = options.trust;
  }

  /**
   * Where and how to send a call to `target`: plain HTTP without trust; with trust, over mutual
   * TLS or with a service token, as the cluster's mode says. A caller-supplied service credential
   * (a header relayed from outside) never survives.
   */
  async #route(
    callee: string,
    target: Instance,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<{ origin: string; dispatcher: Dispatcher }> {
    delete headers[SERVICE_AUTHORIZATION_HEADER];
    if (!this.#trust) return { origin: `http://${target.address}`, dispatcher: agent };
    const out = await this.#trust.outgoing(callee, target);
    Object.assign(headers, out.headers);
    return { origin: out.origin, dispatcher: out.dispatcher ?? agent };
  }

  async request<T = unknown>(callee: string, options: CallOptions<T>): Promise<CallResult<T>> {
    const breaker = this.breakers.forCallee(callee);
    const call = this.telemetry?.client({
      callee,
      method: options.method ?? 'GET',
      path: options.path,
      breaker: breaker.name,
      breakerState: breaker.state,
    });
    let instance: string | undefined;
    const attempt = async (): Promise<CallResult<T>> => {
      const target = await this.discovery.pick(callee);
      instance = target.id;
      call?.target(target.address, target.id);
      return this.send<T>(callee, target, options, call);
    };
    try {
      const fire = () =>
        breaker.fire(
          attempt,
          options.fallback &&
            (async (error: unknown) => {
              const body = await options.fallback!(error);
              return {
                status: 200,
                body,
                headers: {},
                degraded: true,
                cause: describe(callee, error),
              } satisfies CallResult<T>;
            }),
        );
      // The call's span is active inside the breaker, so a transition it causes is an event on it.
      const result = await (call ? call.run(fire) : fire());
      call?.end(result.degraded ? result.cause : undefined);
      if (result.degraded) this.log.debug({ callee, cause: result.cause }, 'served from fallback');
      if (options.throwOn4xx && result.status >= 400)
        throw new UpstreamError(
          callee,
          result.status,
          `${callee} refused the request (${result.status})`,
          result.status,
          result.body,
        );
      return instance && !result.degraded ? { ...result, instance } : result;
    } catch (error) {
      const upstream = error instanceof UpstreamError ? error : toUpstreamError(callee, error);
      call?.fail(upstream.message, errorType(error));
      throw upstream;
    }
  }

  /**
   * A call whose answer is streamed (server-sent events, a proxied OAuth page). The breaker sees
   * the time to response headers; the body then flows for as long as both sides keep it open.
   */
  async stream(
    callee: string,
    options: {
      method: Dispatcher.HttpMethod;
      path: string;
      headers?: Record<string, string | string[] | undefined>;
      body?: Readable | string;
      requestId?: string;
      timeoutMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<Dispatcher.ResponseData> {
    const breaker = this.breakers.forCallee(callee);
    const call = this.telemetry?.client({
      callee,
      method: options.method,
      path: options.path,
      breaker: breaker.name,
      breakerState: breaker.state,
    });
    try {
      const fire = () =>
        breaker.fire(async () => {
          const target = await this.discovery.pick(callee);
          call?.target(target.address, target.id);
          const headers: Record<string, string | string[] | undefined> = {
            ...options.headers,
            'x-chaoscope-caller': this.caller,
          };
          if (options.requestId) headers['x-request-id'] = options.requestId;
          call?.inject(headers);
          const route = await this.#route(callee, target, headers);
          const response = await undiciRequest(new URL(options.path, route.origin), {
            method: options.method,
            headers,
            body: options.body ?? null,
            dispatcher: route.dispatcher,
            headersTimeout: options.timeoutMs ?? 5_000,
            bodyTimeout: 0,
            signal: options.signal,
          });
          call?.response(response.statusCode);
          if (response.statusCode >= 500) {
            const text = await response.body.text().catch(() => '');
            throw new ServerErrorAnswer(response.statusCode, text);
          }
          return response;
        });
      // The span ends at the response headers; the body may stream for as long as both sides like.
      const response = await (call ? call.run(fire) : fire());
      call?.end();
      return response;
    } catch (error) {
      const upstream = toUpstreamError(callee, error);
      call?.fail(upstream.message, errorType(error));
      throw upstream;
    }
  }

  private async send<T>(
    callee: string,
    target: Instance,
    options: CallOptions<T>,
    call: ClientCall | undefined,
  ): Promise<CallResult<T>> {
    const headers: Record<string, string> = { 'x-chaoscope-caller': this.caller, ...options.headers };
    const route = await this.#route(callee, target, headers);
    const url = new URL(options.path, route.origin);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    if (options.requestId) headers['x-request-id'] = options.requestId;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    call?.inject(headers);
    const response = await undiciRequest(url, {
      method: options.method ?? 'GET',
      headers,
      body,
      dispatcher: route.dispatcher,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    call?.response(response.statusCode);
    const text = await response.body.text();
    const type = String(response.headers['content-type'] ?? '');
    const parsed: unknown = text && type.includes('json') ? JSON.parse(text) : text;
    if (response.statusCode >= 500) throw new ServerErrorAnswer(response.statusCode, parsed);
    return { status: response.statusCode, body: parsed as T, headers: response.headers, degraded: false };
  }
}

function toUpstreamError(callee: string, error: unknown): UpstreamError {
  if (error instanceof ServerErrorAnswer) {
    return new UpstreamError(
      callee,
      error.status === 503 ? 503 : 502,
      `${callee} failed (${error.status})`,
      error.status,
    );
  }
  const detail = describe(callee, error);
  if (isTimeout(error)) return new UpstreamError(callee, 504, detail);
  return new UpstreamError(callee, 503, detail);
}

function isTimeout(error: unknown): boolean {
  const e = error as { code?: string; name?: string } | null;
  return (
    e?.code === 'ETIMEDOUT' ||
    e?.name === 'TimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

/** The span's error.type: short, low-cardinality. */
function errorType(error: unknown): string {
  if (error instanceof ServerErrorAnswer) return String(error.status);
  if (error instanceof UpstreamError) return String(error.upstreamStatus ?? error.status);
  if (error instanceof BreakerOpenError) return 'breaker_open';
  if (error instanceof NoInstanceError) return 'no_instance';
  if (isTimeout(error)) return 'timeout';
  const e = error as { code?: string; name?: string } | null;
  return e?.code ?? e?.name ?? 'error';
}

/** One line that says why a call to the callee did not succeed. */
export function describe(callee: string, error: unknown): string {
  if (error instanceof BreakerOpenError) return `${callee}: ${error.message}`;
  if (error instanceof NoInstanceError) return error.message;
  if (error instanceof ServerErrorAnswer) return `${callee} answered ${error.status}`;
  if (isTimeout(error)) return `${callee} did not answer in time`;
  const e = error as { code?: string; message?: string } | null;
  if (e?.code === 'ECONNREFUSED') return `${callee} refused the connection`;
  if (e?.code === 'ECONNRESET' || e?.code === 'UND_ERR_SOCKET') return `${callee} reset the connection`;
  return `${callee} is unavailable: ${e?.message ?? String(error)}`;
}

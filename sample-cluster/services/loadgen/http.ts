import { setTimeout as delay } from 'node:timers/promises';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';

/** Lets gateway logs and traces tell simulated traffic from people. */
export const USER_AGENT = 'chaoscope-loadgen';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly latencyMs: number;
}

/** No answer came: the deadline passed, or the connection failed. */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
  readonly kind: 'timeout' | 'network';
  readonly latencyMs: number;
  constructor(kind: 'timeout' | 'network', message: string, latencyMs: number, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
    this.latencyMs = latencyMs;
  }
}

export interface SendOptions {
  readonly method?: Dispatcher.HttpMethod;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/**
 * HTTP to the gateway over one keep-alive pool. Every call has a deadline and also ends when the
 * owner stops (`signal`), so shutting the load down never waits on a hung cluster.
 */
export class HttpClient {
  readonly agent: Agent;
  /** Long-lived streams get their own pool so they never take the sockets short calls need. */
  readonly streamAgent: Agent;
  readonly timeoutMs: number;
  readonly #signal: AbortSignal | undefined;

  constructor(options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.#signal = options.signal;
    const connect = { timeout: Math.min(this.timeoutMs, 3_000) };
    this.agent = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000, connect });
    this.streamAgent = new Agent({ connect });
  }

  /** Abort when the owner stops or after `timeoutMs`, whichever comes first. */
  deadline(timeoutMs = this.timeoutMs): AbortSignal {
    const timeout = AbortSignal.timeout(timeoutMs);
    return this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
  }

  get stopped(): boolean {
    return this.#signal?.aborted ?? false;
  }

  /** The owner's stop signal, for calls that have no overall deadline (event streams). */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Wait, but no longer than until the owner stops. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const signals = [this.#signal, signal].filter((s): s is AbortSignal => s !== undefined);
    try {
      await delay(ms, undefined, signals.length ? { signal: AbortSignal.any(signals) } : {});
    } catch {
      // Stopped: the caller checks its own state.
    }
  }

  async send(url: URL, options: SendOptions = {}): Promise<HttpAnswer> {
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    try {
      const response = await request(url, {
        method: options.method ?? 'GET',
        headers: { 'user-agent': USER_AGENT, ...options.headers },
        body: options.body,
        dispatcher: this.agent,
        signal: this.deadline(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      return {
        status: response.statusCode,
        headers: response.headers,
        text,
        latencyMs: performance.now() - started,
      };
    } catch (error) {
      throw toNoAnswer(error, performance.now() - started, this.stopped);
    }
  }

  /** A WHATWG fetch over the same pool, for libraries that speak fetch (oauth4webapi). */
  readonly fetch = (input: string, init: { readonly signal?: AbortSignal } = {}): Promise<Response> => {
    const signal = init.signal ?? this.deadline();
    // undici's Response is the class behind Node's global one; oauth4webapi checks it by tag.
    return undiciFetch(input, { ...init, signal, dispatcher: this.agent }) as unknown as Promise<Response>;
  };

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.streamAgent.close()]);
  }

  /** Drop connections at once (stop), without waiting for in-flight requests. */
  async destroy(): Promise<void> {
    await Promise.all([this.agent.destroy(), this.streamAgent.destroy()]);
  }
}

export function toNoAnswer(error: unknown, latencyMs: number, stopped = false): NoAnswerError {
  if (error instanceof NoAnswerError) return error;
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  } | null;
  const code = e?.code ?? e?.cause?.code;
  if (stopped) return new NoAnswerError('network', 'stopped', latencyMs, error);
  if (
    e?.name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return new NoAnswerError(
      'timeout',
      `no answer within the deadline (${code ?? 'timeout'})`,
      latencyMs,
      error,
    );
  }
  const message =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
        ? 'connection reset'
        : (e?.cause?.message ?? e?.message ?? String(error));
  return new NoAnswerError('network', message, latencyMs, error);
}

export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The most useful line of an error answer: a problem's detail, an OAuth error description, or the start of the text. */
export function describeAnswer(status: number, text: string): string {
  const body = parseJson(text) as
    { detail?: unknown; title?: unknown; error?: unknown; error_description?: unknown } | undefined;
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail;
    if (typeof body.error_description === 'string') return `${String(body.error)}: ${body.error_description}`;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.title === 'string') return body.title;
  }
  return htmlText(text) || `HTTP ${status}`;
}

/** What a person would read on an HTML page: its alert when it has one, else its visible text. */
function htmlText(html: string): string {
  const alert = /<[^>]+(?:role="alert"|class="[^"]*\berror\b[^"]*")[^>]*>([\s\S]*?)<\//i.exec(html)?.[1];
  const visible = (alert ?? html)
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return visible.slice(0, 200);
}

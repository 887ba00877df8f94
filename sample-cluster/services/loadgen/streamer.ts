import { StringDecoder } from 'node:string_decoder';
import { request } from 'undici';
import { backoffDelay } from '../../kit/registry-client.ts';
import { describeAnswer, toNoAnswer, USER_AGENT, type HttpClient } from './http.ts';
import { isTweetEvent, SseParser } from './sse.ts';
import type { LoadStats } from './stats.ts';
import type { SimulatedUser } from './user.ts';

const STREAM_PATH = '/api/stream';
const HEALTHY_STREAM_MS = 5_000;
const RECONNECT_BACKOFF = { initialMs: 250, maxMs: 10_000 };

/**
 * One user kept connected to GET /api/stream, counting the tweets that arrive. Reconnects after
 * every end (gateway restart, realtime down, idle timeout) with a backoff; each connection attempt
 * counts as a "stream" operation whose latency is the time to the response headers.
 */
export class StreamConnection {
  readonly user: SimulatedUser;
  readonly #http: HttpClient;
  readonly #baseUrl: URL;
  readonly #stats: LoadStats;
  readonly #idleTimeoutMs: number;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #connected = false;

  constructor(
    user: SimulatedUser,
    options: { http: HttpClient; baseUrl: URL; stats: LoadStats; idleTimeoutMs?: number },
  ) {
    this.user = user;
    this.#http = options.http;
    this.#baseUrl = options.baseUrl;
    this.#stats = options.stats;
    // Silence longer than this means a dead connection (the realtime service sends heartbeats).
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted || this.#http.stopped;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const lasted = await this.#connectOnce();
      if (this.#stopped) break;
      // A stream that stayed up a while was a success; one cut at once counts toward the backoff.
      failures = lasted ? 0 : failures + 1;
      await this.#http.sleep(backoffDelay(failures, RECONNECT_BACKOFF), this.#abort.signal);
    }
  }

  /** One connection from request to end; true when it stayed open for a while. */
  async #connectOnce(): Promise<boolean> {
    const token = await this.user.accessToken();
    if (!token || this.#stopped) return false;
    const signals = [this.#abort.signal, this.#http.signal].filter((s): s is AbortSignal => s !== undefined);
    const requestInfo = { method: 'GET', path: STREAM_PATH };
    const started = performance.now();
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(new URL(STREAM_PATH, this.#baseUrl), {
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'user-agent': USER_AGENT },
        dispatcher: this.#http.streamAgent,
        signal: AbortSignal.any(signals),
        headersTimeout: this.#http.timeoutMs,
        bodyTimeout: this.#idleTimeoutMs,
      });
    } catch (error) {
      if (this.#stopped) return false;
      const e = toNoAnswer(error, performance.now() - started);
      this.#stats.record('stream', requestInfo, { kind: e.kind, latencyMs: e.latencyMs, detail: e.message });
      return false;
    }
    const latencyMs = performance.now() - started;
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      this.#stats.record('stream', requestInfo, {
        kind: 'answer',
        status: response.statusCode,
        latencyMs,
        detail: describeAnswer(response.statusCode, text),
      });
      if (response.statusCode === 401) this.user.dropSession();
      return false;
    }
    this.#stats.record('stream', requestInfo, { kind: 'answer', status: 200, latencyMs });
    this.#connected = true;
    const openedAt = performance.now();
    const parser = new SseParser();
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of response.body) {
        for (const event of parser.feed(decoder.write(chunk as Buffer)))
          this.#stats.streamEvent(event.event, isTweetEvent(event));
      }
    } catch {
      // Reset, idle timeout or stop: all end this connection the same way.
    } finally {
      this.#connected = false;
      response.body.destroy();
    }
    if (!this.#stopped) this.#stats.streamDisconnects += 1;
    return performance.now() - openedAt >= HEALTHY_STREAM_MS;
  }
}

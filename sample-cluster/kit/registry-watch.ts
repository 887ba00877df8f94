import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { backoffDelay, type BackoffOptions } from './registry-client.ts';
import {
  WATCH_EVENT_SCHEMAS,
  WATCH_KEEPALIVE_MS,
  type InstanceView,
  type ServiceView,
} from './registry-protocol.ts';

export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
}

/**
 * Server-Sent Events framing (WHATWG HTML §9.2.6) over a byte stream. Hand-written rather than
 * undici's EventSource because we need what EventSource hides: our own backoff, a fresh snapshot
 * per connection, and the transport's idle timeout to notice a registry that went silent.
 */
export async function* parseSse(
  chunks: AsyncIterable<Uint8Array | string>,
  maxEventChars = 8 * 1024 * 1024,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const lineBreak = /[\r\n]/g;
  let buffer = '';
  let first = true;
  let type = '';
  let data: string[] = [];
  let dataChars = 0;
  let lastId: string | undefined;

  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (first && buffer.length > 0) {
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      first = false;
    }
    let start = 0;
    for (;;) {
      lineBreak.lastIndex = start;
      const match = lineBreak.exec(buffer);
      if (!match) break;
      const at = match.index;
      // A CR at the very end may be the first half of a CRLF that the next chunk completes.
      if (buffer[at] === '\r' && at === buffer.length - 1) break;
      const line = buffer.slice(start, at);
      start = at + (buffer[at] === '\r' && buffer[at + 1] === '\n' ? 2 : 1);

      if (line === '') {
        if (data.length > 0) yield { event: type || 'message', data: data.join('\n'), id: lastId };
        type = '';
        data = [];
        dataChars = 0;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') {
        dataChars += value.length + 1;
        if (dataChars > maxEventChars)
          throw new Error(`an event on the stream exceeds ${maxEventChars} characters`);
        data.push(value);
      } else if (field === 'id' && !value.includes('\0')) lastId = value;
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxEventChars)
      throw new Error(`a line on the stream exceeds ${maxEventChars} characters`);
  }
}

export interface WatchListener {
  /** A (re)connection's first event: the whole registry. The cache should become exactly this. */
  snapshot(services: readonly ServiceView[]): void;
  registered(instance: InstanceView): void;
  removed(instance: InstanceView, reason: 'deregistered' | 'evicted'): void;
  /** The stream broke; it is being retried with backoff. */
  down(error: unknown): void;
}

/**
 * A subscription to GET /v1/watch that never gives up while started: on any failure it waits
 * (exponential backoff, reset by each good snapshot) and connects again.
 */
export class RegistryWatch {
  readonly #url: string;
  readonly #dispatcher: Dispatcher;
  readonly #listener: WatchListener;
  readonly #log: Logger;
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #open = false;

  constructor(options: {
    url: string;
    dispatcher: Dispatcher;
    listener: WatchListener;
    log: Logger;
    connectTimeoutMs?: number;
    /** Silence longer than this (the registry sends a comment every 10 s) means the stream is dead. */
    idleTimeoutMs?: number;
    backoff?: BackoffOptions;
  }) {
    this.#url = options.url;
    this.#dispatcher = options.dispatcher;
    this.#listener = options.listener;
    this.#log = options.log;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? WATCH_KEEPALIVE_MS * 2.5;
    this.#backoff = options.backoff ?? {};
  }

  get started(): boolean {
    return this.#abort !== undefined && !this.#abort.signal.aborted;
  }

  /** True between a snapshot and the next failure. */
  get open(): boolean {
    return this.#open;
  }

  start(): void {
    if (this.started) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#open = false;
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      let failure: unknown;
      try {
        await this.#connectOnce(signal, () => {
          attempt = 0;
        });
        failure = new Error('the registry ended the watch stream');
      } catch (error) {
        failure = error;
      }
      if (signal.aborted) break;
      this.#open = false;
      this.#listener.down(failure);
      const delay = backoffDelay(attempt, this.#backoff);
      attempt += 1;
      this.#log.debug({ err: failure, retryInMs: Math.round(delay) }, 'registry watch interrupted');
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
    this.#open = false;
  }

  async #connectOnce(signal: AbortSignal, onSnapshot: () => void): Promise<void> {
    const response = await request(this.#url, {
      method: 'GET',
      dispatcher: this.#dispatcher,
      signal,
      headers: { accept: 'text/event-stream' },
      headersTimeout: this.#connectTimeoutMs,
      bodyTimeout: this.#idleTimeoutMs,
    });
    const type = String(response.headers['content-type'] ?? '');
    if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      await response.body.dump().catch(() => undefined);
      throw new Error(
        `the registry answered the watch request with ${response.statusCode} (${type || 'no content type'})`,
      );
    }
    try {
      for await (const event of parseSse(response.body)) {
        this.#dispatch(event);
        if (event.event === 'snapshot') {
          this.#open = true;
          onSnapshot();
        }
      }
    } finally {
      response.body.destroy();
    }
  }

  /** A malformed event throws: the stream is then no longer trustworthy and is reconnected. */
  #dispatch(event: SseEvent): void {
    const name = event.event;
    if (!(name in WATCH_EVENT_SCHEMAS)) return; // newer registry, newer event: not ours to act on
    const json: unknown = JSON.parse(event.data);
    switch (name) {
      case 'snapshot':
        this.#listener.snapshot(WATCH_EVENT_SCHEMAS.snapshot.parse(json).services);
        return;
      case 'registered':
        this.#listener.registered(WATCH_EVENT_SCHEMAS.registered.parse(json).instance);
        return;
      case 'deregistered':
        this.#listener.removed(WATCH_EVENT_SCHEMAS.deregistered.parse(json).instance, 'deregistered');
        return;
      case 'evicted':
        this.#listener.removed(WATCH_EVENT_SCHEMAS.evicted.parse(json).instance, 'evicted');
        return;
    }
  }
}

import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { WATCH_KEEPALIVE_MS } from '../../kit/registry-protocol.ts';
import { serviceUnavailable } from '../../kit/problem.ts';

interface Watcher {
  readonly res: ServerResponse;
  readonly remote: string | undefined;
}

/**
 * The Server-Sent Events side of GET /v1/watch. One keep-alive timer serves every watcher; a
 * watcher that stops reading is dropped (it reconnects and gets a fresh snapshot) rather than
 * letting its backlog grow without bound.
 */
export class WatchHub {
  readonly #watchers = new Set<Watcher>();
  readonly #log: Logger;
  readonly #keepAliveMs: number;
  readonly #maxWatchers: number;
  readonly #maxBacklogBytes: number;
  #keepAlive: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: {
    log: Logger;
    keepAliveMs?: number;
    maxWatchers?: number;
    maxBacklogBytes?: number;
  }) {
    this.#log = options.log;
    this.#keepAliveMs = options.keepAliveMs ?? WATCH_KEEPALIVE_MS;
    this.#maxWatchers = options.maxWatchers ?? 500;
    this.#maxBacklogBytes = options.maxBacklogBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.#watchers.size;
  }

  /** Take over the response and stream to it: the snapshot first, then every broadcast. */
  attach(request: FastifyRequest, reply: FastifyReply, snapshot: unknown): void {
    if (this.#closed) throw serviceUnavailable('the registry is shutting down', 1);
    if (this.#watchers.size >= this.#maxWatchers) {
      throw serviceUnavailable(`the registry serves at most ${this.#maxWatchers} watch streams`, 5);
    }
    reply.hijack();
    const res = reply.raw;
    // Hijacking skips fastify's header handling, so carry over what hooks already set (x-request-id).
    const inherited: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (typeof value === 'string' || typeof value === 'number') inherited[name] = String(value);
    }
    res.writeHead(200, {
      ...inherited,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies that buffer would hold events back.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const watcher: Watcher = { res, remote: request.ip };
    this.#watchers.add(watcher);
    res.once('close', () => this.#detach(watcher));
    res.write('retry: 1000\n\n');
    this.#send(watcher, this.#frame('snapshot', snapshot));
    this.#startKeepAlive();
    this.#log.debug({ remote: watcher.remote, watchers: this.#watchers.size }, 'watcher connected');
  }

  broadcast(event: string, data: unknown): void {
    if (this.#watchers.size === 0) return;
    const frame = this.#frame(event, data);
    for (const watcher of this.#watchers) this.#send(watcher, frame);
  }

  /** End every stream (clients reconnect elsewhere or later) and refuse new ones. */
  closeAll(): void {
    this.#closed = true;
    for (const watcher of [...this.#watchers]) watcher.res.end();
    this.#watchers.clear();
    this.#stopKeepAlive();
  }

  #frame(event: string, data: unknown): string {
    // JSON.stringify never emits a raw newline, so one data line carries the whole payload.
    return `id: ${this.#nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  #send(watcher: Watcher, frame: string): void {
    const { res } = watcher;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > this.#maxBacklogBytes) {
      this.#log.warn(
        { remote: watcher.remote, backlogBytes: res.writableLength },
        'dropping a watcher that stopped reading',
      );
      res.destroy();
      return;
    }
    res.write(frame);
  }

  #detach(watcher: Watcher): void {
    if (!this.#watchers.delete(watcher)) return;
    this.#log.debug({ remote: watcher.remote, watchers: this.#watchers.size }, 'watcher disconnected');
    if (this.#watchers.size === 0) this.#stopKeepAlive();
  }

  #startKeepAlive(): void {
    if (this.#keepAlive) return;
    this.#keepAlive = setInterval(() => {
      for (const watcher of this.#watchers) this.#send(watcher, ': keep-alive\n\n');
    }, this.#keepAliveMs);
  }

  #stopKeepAlive(): void {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }
}

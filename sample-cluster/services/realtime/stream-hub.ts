import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { serviceUnavailable } from '../../kit/problem.ts';

/** A client that lets this much pile up unread is too slow to follow live traffic; it is cut off. */
const MAX_BUFFERED_BYTES = 256 * 1024;

interface Stream {
  readonly handle: string;
  readonly response: ServerResponse;
}

/**
 * Open Server-Sent Event streams, per handle. Writes go straight to the socket (the reply is
 * hijacked from fastify), so nothing buffers an event on its way to the client.
 */
export class StreamHub {
  private readonly byHandle = new Map<string, Set<Stream>>();
  private count = 0;
  private readonly maxConnections: number;
  private readonly log: Logger;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: { maxConnections: number; heartbeatMs: number; log: Logger }) {
    this.maxConnections = options.maxConnections;
    this.log = options.log;
    // One timer for every stream rather than one per stream.
    this.heartbeat = setInterval(() => this.broadcastComment('heartbeat'), options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Open a stream for a handle. Throws a 503 problem (before anything is written) when full. */
  attach(request: FastifyRequest, reply: FastifyReply, handle: string): void {
    if (this.count >= this.maxConnections) {
      throw serviceUnavailable(
        `this realtime instance already holds ${this.maxConnections} streams; retry later`,
        5,
      );
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      // Headers fastify would have sent (request id, fault marker) still belong on the answer.
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    request.raw.socket.setNoDelay(true);
    const stream: Stream = { handle, response };
    let set = this.byHandle.get(handle);
    if (!set) {
      set = new Set();
      this.byHandle.set(handle, set);
    }
    set.add(stream);
    this.count += 1;
    response.once('close', () => this.detach(stream));
    this.write(stream, formatEvent('ready', { handle }));
  }

  /** Send an event to every stream of the given handles; returns how many streams got it. */
  publish(handles: Iterable<string>, event: string, data: unknown, id?: string): number {
    const chunk = formatEvent(event, data, id);
    let sent = 0;
    for (const handle of handles) {
      for (const stream of this.byHandle.get(handle) ?? []) if (this.write(stream, chunk)) sent += 1;
    }
    return sent;
  }

  isConnected(handle: string): boolean {
    return this.byHandle.has(handle);
  }

  /** Handles with at least one open stream. */
  connectedHandles(): IterableIterator<string> {
    return this.byHandle.keys();
  }

  stats(): { connections: number; handles: number } {
    return { connections: this.count, handles: this.byHandle.size };
  }

  /** End every stream (they never go idle, so the server could not otherwise finish draining). */
  closeAll(): void {
    clearInterval(this.heartbeat);
    for (const set of this.byHandle.values()) for (const stream of set) stream.response.end();
  }

  private broadcastComment(text: string): void {
    const chunk = `: ${text}\n\n`;
    for (const set of this.byHandle.values()) for (const stream of set) this.write(stream, chunk);
  }

  private write(stream: Stream, chunk: string): boolean {
    const { response } = stream;
    if (response.destroyed || response.writableEnded) return false;
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      this.log.warn(
        { handle: stream.handle, buffered: response.writableLength },
        'stream client too slow; closing its stream',
      );
      response.destroy();
      return false;
    }
    response.write(chunk);
    return true;
  }

  private detach(stream: Stream): void {
    const set = this.byHandle.get(stream.handle);
    if (!set?.delete(stream)) return;
    this.count -= 1;
    if (set.size === 0) this.byHandle.delete(stream.handle);
  }
}

export function formatEvent(event: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Web mode: the dashboard and the API over HTTP + WebSocket, on 127.0.0.1 only.
 *
 *   POST /api/v1/invoke/:command   JSON input → the contract's envelope ({ok, value} | {ok, error})
 *   GET  /api/v1/events            WebSocket: event batches as JSON text messages
 *   GET  /reports/:runId/report.html  an experiment run's HTML report (experiments.report)
 *   GET  /…                        the dashboard (renderer/dist), or a page saying it is not built
 *
 * Every request passes WebGuard (Host, Origin, token) first. Opening the dashboard with
 * `?token=…` sets the token as an HttpOnly, SameSite=Strict cookie and redirects to the same
 * page without it, so the token leaves the address bar and history.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, type ApiErrorCode } from '../../api/errors.ts';
import type { EventBatch } from '../../api/events.ts';
import { API_VERSION } from '../../api/version.ts';
import type { Dispatcher } from '../dispatcher.ts';
import type { EventBus } from '../event-bus.ts';
import { TOKEN_COOKIE, WebGuard } from './guard.ts';
import { DEFAULT_DIST_DIR, isBuilt, notBuiltPage, staticFile } from './static-files.ts';

export const API_PREFIX = `/api/v${API_VERSION}`;

const STATUS: Record<ApiErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  NO_CLUSTER: 409,
  NO_CONTROL_PLANE: 503,
  CONFLICT: 409,
  UNSUPPORTED: 422,
  UNAVAILABLE: 503,
  ABORTED: 499,
  FAILED: 500,
  INTERNAL: 500,
};

/** A WebSocket client further behind than this loses batches (counted) instead of growing memory. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;

export interface WebServerOptions {
  readonly dispatcher: Dispatcher;
  readonly bus: EventBus;
  readonly token: string;
  /** 0: any free port. */
  readonly port: number;
  /** Where the built dashboard is. Default: renderer/dist. */
  readonly distDir?: string;
}

export interface WebServer {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

export function contentSecurityPolicy(port: number): string {
  const ws = `ws://127.0.0.1:${port} ws://localhost:${port}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const guard = new WebGuard(options.token);
  const distDir = options.distDir ?? DEFAULT_DIST_DIR;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    forceCloseConnections: true,
    return503OnClosing: true,
  });

  const fail = (reply: FastifyReply, error: ApiError, status: number = STATUS[error.code]) =>
    reply
      .code(status)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send({ ok: false, error: error.toJSON() });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const site = guard.checkSite(request.headers);
    if (!site.ok) return fail(reply, new ApiError('FORBIDDEN', site.reason ?? 'forbidden'));
    const url = new URL(request.url, 'http://localhost');
    const queryToken = url.searchParams.get('token');
    if (request.method === 'GET' && queryToken !== null && !url.pathname.startsWith('/api/')) {
      if (!guard.matches(queryToken))
        return fail(reply, new ApiError('UNAUTHORIZED', 'the access token is wrong'));
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      return reply
        .header(
          'set-cookie',
          `${TOKEN_COOKIE}=${encodeURIComponent(queryToken)}; HttpOnly; SameSite=Strict; Path=/`,
        )
        .header('cache-control', 'no-store')
        .redirect(`${url.pathname}${rest ? `?${rest}` : ''}`, 303);
    }
    const token = guard.checkToken(request.headers);
    if (!token.ok) {
      return fail(
        reply.header('www-authenticate', 'Bearer realm="chaoscope"'),
        new ApiError(
          'UNAUTHORIZED',
          `${token.reason ?? 'unauthorized'}; open the URL \`chaoscope serve\` printed`,
        ),
      );
    }
  });

  // Bodies are JSON or nothing; anything else is refused before a handler runs.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ApiError('BAD_REQUEST', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });

  app.post<{ Params: { command: string } }>(`${API_PREFIX}/invoke/:command`, async (request, reply) => {
    const type = request.headers['content-type'];
    const length = Number(request.headers['content-length'] ?? 0);
    if (type === undefined && length > 0) {
      return fail(reply, new ApiError('BAD_REQUEST', 'send the input as application/json'));
    }
    const abort = new AbortController();
    // The response closing before it was written means the client went away: stop the work.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const result = await options.dispatcher.invoke(request.params.command, request.body, {
      signal: abort.signal,
    });
    if (!result.ok) return fail(reply, ApiError.from(result.error));
    return reply.header('cache-control', 'no-store').send(result);
  });

  app.get(`${API_PREFIX}/events`, async (_request, reply) =>
    fail(
      reply.header('upgrade', 'websocket'),
      new ApiError('BAD_REQUEST', 'this is a WebSocket endpoint'),
      426,
    ),
  );

  app.all(`${API_PREFIX}/*`, async (request, reply) =>
    fail(reply, new ApiError('NOT_FOUND', `no ${request.method} ${request.url.split('?')[0]} in the API`)),
  );

  // An experiment run's HTML report (self-contained: inline CSS and SVG, no script), behind the
  // same guard as everything else, with a policy that allows nothing but its own styles.
  app.get<{ Params: { runId: string } }>('/reports/:runId/report.html', async (request, reply) => {
    const result = await options.dispatcher.invoke('experiments.report', {
      runId: request.params.runId,
      html: true,
    });
    if (!result.ok) return fail(reply, ApiError.from(result.error));
    const { html } = result.value as { html: string | null };
    if (html === null) return fail(reply, new ApiError('NOT_FOUND', 'the run has no HTML report yet'));
    return reply
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      )
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(html);
  });

  app.get('/*', async (request, reply) => {
    const html = (body: Buffer) =>
      reply
        .header('content-security-policy', contentSecurityPolicy(guard.port))
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(body);
    if (!(await isBuilt(distDir))) {
      const path = request.url.split('?')[0] ?? '/';
      if (path === '/' || path === '/index.html') return html(notBuiltPage(distDir));
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('not found (the dashboard is not built)\n');
    }
    const file = await staticFile(distDir, request.url);
    if (file.html) return html(file.body);
    return reply.code(file.status).type(file.type).header('cache-control', 'no-cache').send(file.body);
  });

  app.setNotFoundHandler(async (request, reply) =>
    fail(reply, new ApiError('NOT_FOUND', `no ${request.method} ${request.url.split('?')[0]} here`)),
  );

  app.setErrorHandler(async (error: FastifyError | ApiError, _request, reply) => {
    if (error instanceof ApiError) return fail(reply, error);
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return fail(reply, new ApiError('BAD_REQUEST', 'send the input as application/json'), 415);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return fail(reply, new ApiError('BAD_REQUEST', `the body is larger than ${MAX_BODY_BYTES} bytes`), 413);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return fail(reply, new ApiError('BAD_REQUEST', error.message), status);
    return fail(reply, new ApiError('INTERNAL', error.message));
  });

  // --- events over WebSocket -------------------------------------------------------------------
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const refuse = (socket: Duplex, status: number, reason: string) => {
    const body = JSON.stringify({
      ok: false,
      error: { code: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message: reason },
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const site = guard.checkSite(request.headers);
    if (!site.ok) return refuse(socket, 403, site.reason ?? 'forbidden');
    const token = guard.checkToken(request.headers);
    if (!token.ok) return refuse(socket, 401, token.reason ?? 'unauthorized');
    const path = (request.url ?? '').split('?')[0];
    if (path !== `${API_PREFIX}/events`) return refuse(socket, 403, 'no WebSocket endpoint here');
    sockets.handleUpgrade(request, socket, head, (ws) => attach(ws, options.bus));
  });

  await app.listen({ host: '127.0.0.1', port: options.port });
  const { port } = app.server.address() as AddressInfo;
  guard.port = port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await app.close();
    },
  };
}

/** One WebSocket client: its own subscription, dropped batches counted when it falls behind. */
function attach(ws: WebSocket, bus: EventBus): void {
  let dropped = 0;
  const unsubscribe = bus.subscribe((batch: EventBatch) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      dropped += batch.events.length + batch.dropped;
      return;
    }
    ws.send(JSON.stringify(dropped > 0 ? { ...batch, dropped: batch.dropped + dropped } : batch));
    dropped = 0;
  });
  // Clients have nothing to say; a ping keeps proxies and dead peers honest.
  const ping = setInterval(() => ws.ping(), 30_000);
  ping.unref();
  ws.on('message', () => undefined);
  ws.on('error', () => undefined);
  ws.on('close', () => {
    clearInterval(ping);
    unsubscribe();
  });
}

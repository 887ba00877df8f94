import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { TelemetrySink } from '../model/telemetry.ts';
import type { Answer } from './answers.ts';
import { StatsRecorder, type CollectorStats } from './collector-stats.ts';
import { encodingOf } from './http-body.ts';
import { ingest, safePressure, type IngestContext } from './ingest.ts';
import { collectorLimitsSchema, type CollectorLimits, type CollectorLimitsInput } from './limits.ts';
import { jaegerTraces, otlpLogs, otlpMetrics, otlpTraces, type Receiver } from './receivers.ts';

export type { CollectorStats } from './collector-stats.ts';
export type { CollectorLimits, CollectorLimitsInput } from './limits.ts';

export interface CollectorOptions {
  /** Where decoded spans, points and records go; its pressure() drives the 429/503 answers. */
  readonly sink: TelemetrySink;
  /** 0 picks a free port (tests). */
  readonly otlpPort?: number;
  readonly jaegerPort?: number;
  readonly host?: string;
  readonly limits?: CollectorLimitsInput;
  /** Fastify's request log; none by default (the collector sees every export of every service). */
  readonly logger?: FastifyBaseLogger;
}

export interface Collector {
  /** Base URL of OTLP/HTTP (what OTEL_EXPORTER_OTLP_ENDPOINT takes): signals are under /v1/…. */
  readonly otlpUrl: string;
  /** Full URL of the Jaeger Thrift endpoint (what OTEL_EXPORTER_JAEGER_ENDPOINT takes). */
  readonly jaegerUrl: string;
  stats(): CollectorStats;
  close(): Promise<void>;
}

const optionsSchema = z.object({
  sink: z.custom<TelemetrySink>(
    (s) => typeof s === 'object' && s !== null && typeof (s as TelemetrySink).appendSpans === 'function',
    'a TelemetrySink',
  ),
  otlpPort: z.number().int().min(0).max(65535).default(4318),
  jaegerPort: z.number().int().min(0).max(65535).default(14268),
  host: z.string().min(1).default('127.0.0.1'),
  limits: collectorLimitsSchema.default(collectorLimitsSchema.parse({})),
  logger: z.custom<FastifyBaseLogger>().optional(),
});

/** Slow clients must not hold a request slot (and its memory) forever. */
const REQUEST_TIMEOUT_MS = 30_000;
const THROTTLE_RETRY_AFTER_SECONDS = 1;

type AnyReceiver = Receiver<unknown, { readonly service: string }>;

/**
 * The app's collector: OTLP/HTTP (traces, metrics, logs; protobuf and JSON; gzip) on one port and
 * Jaeger Thrift over HTTP on another, both writing into one sink. Starts listening before it
 * resolves.
 */
export async function createCollector(options: CollectorOptions): Promise<Collector> {
  const opts = optionsSchema.parse(options);
  const limits: CollectorLimits = opts.limits;
  const stats = new StatsRecorder();
  const ctx: IngestContext = {
    sink: opts.sink,
    limits,
    stats,
    onInternalError: (message, error) => opts.logger?.error({ err: error }, message),
  };
  const otlp = buildServer([otlpTraces, otlpMetrics, otlpLogs] as AnyReceiver[], ctx, opts.logger);
  const jaeger = buildServer([jaegerTraces] as AnyReceiver[], ctx, opts.logger);
  try {
    await otlp.listen({ port: opts.otlpPort, host: opts.host });
    await jaeger.listen({ port: opts.jaegerPort, host: opts.host });
  } catch (e) {
    await Promise.allSettled([otlp.close(), jaeger.close()]);
    throw e;
  }
  const base = (app: FastifyInstance) => {
    const { port } = app.server.address() as AddressInfo;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    return `http://${host}:${port}`;
  };
  return {
    otlpUrl: base(otlp),
    jaegerUrl: `${base(jaeger)}${jaegerTraces.path}`,
    stats: () => stats.snapshot(),
    close: async () => {
      await Promise.all([otlp.close(), jaeger.close()]);
    },
  };
}

function buildServer(
  receivers: readonly AnyReceiver[],
  ctx: IngestContext,
  logger: FastifyBaseLogger | undefined,
): FastifyInstance {
  const { limits, stats, sink } = ctx;
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Exporters keep connections alive; close() must not wait for them to go idle.
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  const fallback = receivers[0]!;
  const receiverOf = (request: FastifyRequest): AnyReceiver | undefined =>
    (request.routeOptions.config as { receiver?: AnyReceiver } | undefined)?.receiver;
  // A Buffer keeps Fastify from adding a charset to the Content-Type the receiver chose.
  const send = (reply: FastifyReply, answer: Answer) =>
    reply
      .code(answer.status)
      .headers(answer.headers)
      .send(Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(answer.body));

  // Every body stays a Buffer whatever its Content-Type: the receivers decide what they read, so an
  // unknown type is a 415 from us, not a parser error, and JSON is never parsed by Fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Back-pressure is answered before the body is read, so refusing costs almost nothing.
  app.addHook('onRequest', async (request, reply) => {
    const receiver = receiverOf(request);
    if (!receiver) return;
    const encoding = encodingOf(request.headers['content-type']);
    if (stats.inFlightRequests >= limits.maxConcurrentRequests) {
      stats.throttledRequests += 1;
      const message = `more than ${limits.maxConcurrentRequests} requests in flight; retry later`;
      return send(reply, receiver.failure(encoding, 429, message, THROTTLE_RETRY_AFTER_SECONDS));
    }
    const pressure = safePressure(sink);
    if (!pressure.accepting) {
      stats.throttledRequests += 1;
      const retryAfter = Math.max(1, Math.ceil(pressure.retryAfterSeconds));
      const message = `the store is not taking data now${pressure.reason ? ` (${pressure.reason})` : ''}; retry later`;
      return send(reply, receiver.failure(encoding, 503, message, retryAfter));
    }
    stats.inFlightRequests += 1;
    // 'close' fires once whether the answer was sent or the client went away mid-request.
    reply.raw.once('close', () => {
      stats.inFlightRequests -= 1;
    });
  });

  app.addHook('onResponse', async (request, reply) => {
    const receiver = receiverOf(request);
    const bytes = Number(request.headers['content-length'] ?? 0) || 0;
    const encoding = encodingOf(request.headers['content-type']) ?? 'unsupported';
    const coding = request.headers['content-encoding'];
    const compressed = coding !== undefined && coding !== '' && coding !== 'identity';
    stats.request(
      receiver ? receiver.path : '(unknown path)',
      receiver ? encoding : '-',
      reply.statusCode,
      bytes,
      compressed,
    );
  });

  for (const receiver of receivers) {
    app.post(receiver.path, { config: { receiver } }, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const answer = await ingest(receiver, ctx, {
        body,
        contentType: request.headers['content-type'],
        contentEncoding: request.headers['content-encoding'],
      });
      return send(reply, answer);
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const message = `no ${request.method} ${request.url.slice(0, 100)} here; POST to ${receivers.map((r) => r.path).join(', ')}`;
    return send(reply, fallback.failure(encodingOf(request.headers['content-type']), 404, message));
  });

  // Fastify's own refusals (body over bodyLimit, bad Content-Length, aborted upload) in the
  // receiver's answer format; anything else is ours, logged, and still answered.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const receiver = receiverOf(request) ?? fallback;
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      message = `body larger than ${limits.maxBodyBytes} bytes`;
    if (status === 500) request.log.error({ err: error }, 'collector error');
    return send(reply, receiver.failure(encodingOf(request.headers['content-type']), status, message));
  });

  return app;
}

import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parse } from './validate.ts';
import { registerAdminRoutes, type AdminRouteRegistrar } from './admin.ts';
import { BreakerRegistry } from './breaker.ts';
import { baseConfigSchema, loadConfig, type BaseConfig } from './config.ts';
import { createDiscovery } from './discovery.ts';
import type { Discovery } from './discovery-types.ts';
import { FaultLayer } from './faults.ts';
import { ServiceClient } from './service-client.ts';
import {
  connectTelemetry,
  noteProblem,
  openTelemetry,
  telemetryLoggerOptions,
  traceRequests,
  type ServiceTelemetry,
} from './telemetry.ts';
import { HttpProblem, PROBLEM_CONTENT_TYPE, titleFor } from './problem.ts';
import { TrustAgent } from './trust/agent.ts';
import { installGuard } from './trust/guard.ts';
import { TLS_META_KEY } from './trust/protocol.ts';
import { trustSettingsOf } from './trust/settings.ts';
import { openTlsListener, type TlsListener } from './trust/tls-listener.ts';

export const CALLER_HEADER = 'x-chaoscope-caller';
export const REQUEST_ID_HEADER = 'x-request-id';

export interface ServiceContext<C extends BaseConfig = BaseConfig> {
  readonly config: C;
  readonly log: Logger;
  readonly discovery: Discovery;
  /** Calls to other services: discovery, a breaker per edge, caller identity, request ids. */
  readonly client: ServiceClient;
  readonly breakers: BreakerRegistry;
  readonly faults: FaultLayer;
  /** OpenTelemetry export, present only when an exporter is configured (OTEL_* variables). */
  readonly telemetry?: ServiceTelemetry;
  /** Extra routes under /admin, behind the cluster admin credential. */
  readonly admin: AdminRouteRegistrar;
  /** Trust between services (certificates, mode, secrets); absent when the cluster runs without it. */
  readonly trust?: TrustAgent;
  /** Run on shutdown, after in-flight requests drained, in reverse order of registration. */
  onClose(fn: () => void | Promise<void>): void;
  /** Mark the service not ready with a reason (null when ready again); /readyz reports it. */
  setNotReady(reason: string | null): void;
}

export interface ServiceDefinition<S extends typeof baseConfigSchema> {
  readonly configSchema?: S;
  /** Largest request body accepted, in bytes (413 beyond). */
  readonly bodyLimit?: number;
  /** Metadata published in the registry (e.g. the protocol a service speaks). */
  readonly meta?: Record<string, string>;
  /** Build routes and state. Runs before the server listens. */
  setup(app: FastifyInstance, ctx: ServiceContext<z.infer<S>>): void | Promise<void>;
}

export interface RunningService<C extends BaseConfig = BaseConfig> {
  readonly app: FastifyInstance;
  readonly ctx: ServiceContext<C>;
  /** http://host:port the server listens on. */
  readonly url: string;
  /** Drain in-flight requests, deregister, run close hooks. */
  close(): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Build, listen and register a service. Used by each service's main.ts (through runService) and by
 * tests that want a real server on loopback.
 */
export async function startService<S extends typeof baseConfigSchema>(
  definition: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService<z.infer<S>>> {
  const config = loadConfig(definition.configSchema ?? baseConfigSchema, env) as z.infer<S>;
  const { telemetry, warning: telemetryWarning } = await openTelemetry(config);
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      base: { service: config.CHAOSCOPE_SERVICE, instance: config.CHAOSCOPE_INSTANCE_ID },
      ...telemetryLoggerOptions(telemetry),
    },
    bodyLimit: definition.bodyLimit ?? 64 * 1024,
    requestIdHeader: REQUEST_ID_HEADER,
    genReqId: () => randomUUID(),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Per-request lines only when debugging: at a busy gateway they would drown everything else.
    logController: new LogController({
      disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace',
    }),
  });
  const log = app.log as unknown as Logger;

  const closeHooks: Array<() => void | Promise<void>> = [];
  let notReady: string | null = 'starting';
  const discovery = createDiscovery(config, log);
  const breakers = new BreakerRegistry(config.CHAOSCOPE_SERVICE, log);
  const faults = new FaultLayer(log);
  const trustSettings = trustSettingsOf(config);
  const trust = trustSettings ? new TrustAgent({ settings: trustSettings, discovery, log }) : undefined;
  if (!trust && config.CHAOSCOPE_SERVICE !== 'registry')
    log.debug('no TRUST_CA_CERT: calls between services are neither authenticated nor authorized');
  const client = new ServiceClient({
    caller: config.CHAOSCOPE_SERVICE,
    discovery,
    breakers,
    log,
    telemetry,
    trust,
  });
  if (telemetry) connectTelemetry(telemetry, { breakers, faults, log });
  else if (telemetryWarning) log.warn(`${telemetryWarning}; telemetry is off`);
  const adminRoutes: Array<Parameters<AdminRouteRegistrar['add']>[0]> = [];

  const ctx: ServiceContext<z.infer<S>> = {
    config,
    log,
    discovery,
    client,
    breakers,
    faults,
    ...(telemetry ? { telemetry } : {}),
    ...(trust ? { trust } : {}),
    admin: { add: (fn) => adminRoutes.push(fn) },
    onClose: (fn) => closeHooks.push(fn),
    setNotReady: (reason) => {
      notReady = reason;
    },
  };

  installProblemHandling(app);
  // First of the request hooks, so faults and everything after run inside the request's span.
  if (telemetry) traceRequests(app, telemetry);
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  faults.install(app);
  if (trust) {
    installGuard(app, trust, config.CHAOSCOPE_SERVICE);
    adminRoutes.push((admin) => {
      admin.get('/trust', async () => trust.status());
      admin.post('/trust/renew', async () => {
        await trust.renew();
        return trust.status();
      });
      admin.post('/trust/stream/suspend', async (request) => {
        const { seconds } = parse(z.strictObject({ seconds: z.number().min(0.1).max(600) }), request.body);
        if (!trust.suspendStream(seconds * 1000))
          throw new HttpProblem(409, 'this instance has no trust stream to cut');
        return trust.status();
      });
    });
  }

  app.get('/healthz', async () => ({
    status: 'ok',
    service: config.CHAOSCOPE_SERVICE,
    instance: config.CHAOSCOPE_INSTANCE_ID,
  }));
  app.get('/readyz', async (_request, reply) => {
    if (notReady) {
      return reply
        .code(503)
        .type(PROBLEM_CONTENT_TYPE)
        .send(new HttpProblem(503, `not ready: ${notReady}`).toBody());
    }
    return { status: 'ready', discovery: discovery.mode, registryConnected: discovery.connected() };
  });

  await definition.setup(app, ctx);
  await registerAdminRoutes(app, { token: config.ADMIN_TOKEN, ctx, extra: adminRoutes });

  await app.listen({ host: config.HOST, port: config.PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;

  // Trust: a certificate first (enrolled at auth, or issued in-process by auth itself), then the
  // mutual-TLS listener, published in the registry beside the plain address.
  let tls: TlsListener | undefined;
  const meta: Record<string, string> = { ...definition.meta };
  if (trust) {
    try {
      await trust.start();
      tls = await openTlsListener(app, trust, {
        host: config.HOST,
        port: config.TRUST_TLS_PORT,
        allowUnauthenticated: trust.isAuthority,
      });
    } catch (error) {
      await trust.stop();
      await app.close();
      throw error;
    }
    const advertiseHost = config.ADVERTISE_ADDRESS.slice(0, config.ADVERTISE_ADDRESS.lastIndexOf(':'));
    meta[TLS_META_KEY] = `${advertiseHost}:${tls.port}`;
    trust.setOwnTlsAddress(meta[TLS_META_KEY]);
  }

  await discovery.start(
    config.CHAOSCOPE_SERVICE === 'registry'
      ? undefined
      : {
          service: config.CHAOSCOPE_SERVICE,
          instanceId: config.CHAOSCOPE_INSTANCE_ID,
          address: config.ADVERTISE_ADDRESS,
          meta,
        },
  );
  notReady = null;
  log.info({ url, address: config.ADVERTISE_ADDRESS }, 'service started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      notReady = 'shutting down';
      await discovery.stop().catch((error: unknown) => log.warn({ err: error }, 'deregister failed'));
      const drained = app.close();
      const timer = setTimeout(
        () => log.warn('drain timeout; closing remaining connections'),
        DRAIN_TIMEOUT_MS,
      );
      await Promise.all([drained, tls?.close()]).finally(() => clearTimeout(timer));
      for (const hook of closeHooks.reverse()) {
        await Promise.resolve(hook()).catch((error: unknown) =>
          log.error({ err: error }, 'close hook failed'),
        );
      }
      breakers.shutdown();
      faults.clear();
      await trust?.stop();
      await telemetry?.shutdown();
    })();
    return closing;
  };

  return { app, ctx, url, close };
}

/**
 * Entry point for a service process: start, then drain and exit on SIGTERM/SIGINT. A start-up
 * failure (bad config, schema too new, port taken) prints one clear line and exits 1.
 */
export async function runService<S extends typeof baseConfigSchema>(
  definition: ServiceDefinition<S>,
): Promise<void> {
  let running: RunningService<z.infer<S>>;
  try {
    running = await startService(definition);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${process.env.CHAOSCOPE_SERVICE ?? 'service'}: failed to start: ${message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: NodeJS.Signals) => {
    running.ctx.log.info({ signal }, 'shutting down');
    running
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        running.ctx.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

function installProblemHandling(app: FastifyInstance): void {
  app.setErrorHandler(
    (error: FastifyError | HttpProblem | Error, request: FastifyRequest, reply: FastifyReply) => {
      const problem = toProblem(error);
      if (problem.status >= 500) {
        request.log.error({ err: error }, 'request failed');
        noteProblem(request, problem.message);
      }
      for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
      return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.toBody(request.url));
    },
  );
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        new HttpProblem(404, `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`).toBody(),
      ),
  );
}

/** Map anything thrown in a handler to a problem; framework errors keep their 4xx meaning. */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const e = error as Partial<FastifyError> & { message?: string };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const detail =
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is larger than this endpoint accepts'
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type; send application/json'
          : (e.message ?? titleFor(status));
    return new HttpProblem(status, detail);
  }
  return new HttpProblem(500, 'the service failed to handle this request');
}

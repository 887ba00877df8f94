/**
 * The kit's side of telemetry: start the SDK when the configuration names an exporter, and connect
 * the server, breakers, faults and logger to it. Without an exporter nothing here runs and the
 * SDK is never even loaded (it is imported dynamically, so bundles keep it in a separate chunk).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LogFn, Logger, LoggerOptions } from 'pino';
import { decideTelemetry } from '../../telemetry/instrument/settings.ts';
import type { ServerRequestSpan, ServiceTelemetry } from '../../telemetry/instrument/types.ts';
import type { BreakerRegistry } from './breaker.ts';
import type { BaseConfig } from './config.ts';
import type { FaultLayer } from './faults.ts';

export type { ServiceTelemetry } from '../../telemetry/instrument/types.ts';

export interface TelemetryStart {
  readonly telemetry: ServiceTelemetry | undefined;
  /** Why telemetry is off although an OTEL_ variable asked for it (logged once the logger exists). */
  readonly warning: string | undefined;
}

export async function openTelemetry(config: BaseConfig): Promise<TelemetryStart> {
  const decision = decideTelemetry(config);
  if (!decision.enabled)
    return { telemetry: undefined, warning: decision.misconfigured ? decision.reason : undefined };
  const { startTelemetry } = await import('../../telemetry/instrument/sdk.ts');
  const telemetry = await startTelemetry({
    plan: decision.plan,
    identity: {
      service: config.CHAOSCOPE_SERVICE,
      instanceId: config.CHAOSCOPE_INSTANCE_ID,
      clusterId: config.CHAOSCOPE_CLUSTER_ID,
    },
  });
  return { telemetry, warning: undefined };
}

const PINO_WARN = 40;
const SEVERITY = (level: number) => (level >= 60 ? 'FATAL' : level >= 50 ? 'ERROR' : 'WARN');

/**
 * Log lines carry trace_id and span_id of the request they belong to; warnings and errors also go
 * out as OpenTelemetry log records, so the app shows them beside the trace.
 */
export function telemetryLoggerOptions(telemetry: ServiceTelemetry | undefined): LoggerOptions {
  if (!telemetry) return {};
  return {
    mixin: () => telemetry.logFields(),
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        if (level >= PINO_WARN) forwardLog(telemetry, level, args);
        method.apply(this, args);
      },
    },
  };
}

function forwardLog(telemetry: ServiceTelemetry, level: number, args: readonly unknown[]): void {
  const [first, second] = args;
  const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
  // The SDK's own complaints (a dead collector) must not feed the exporter that is failing.
  if (fields.component === 'opentelemetry') return;
  const body = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
  const attributes: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      attributes[key] = value;
    else if (value instanceof Error) {
      attributes['exception.type'] = value.name;
      attributes['exception.message'] = value.message;
    } else if (value !== undefined && value !== null) attributes[key] = safeJson(value);
  }
  telemetry.log(SEVERITY(level), body, attributes);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 2_000);
  } catch {
    return String(value);
  }
}

/** Breaker transitions and applied faults become span events and log records; breakers become gauges. */
export function connectTelemetry(
  telemetry: ServiceTelemetry,
  parts: { breakers: BreakerRegistry; faults: FaultLayer; log: Logger },
): void {
  telemetry.setDiagnostics(parts.log);
  parts.breakers.onTransition((t) => telemetry.breakerTransition(t));
  parts.faults.onApplied((f) => telemetry.faultApplied(f));
  telemetry.observeBreakers(() => parts.breakers.snapshots());
}

const requestSpans = new WeakMap<FastifyRequest, ServerRequestSpan>();

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A server span per request. Register before any other request hook: the span is made active for
 * the hooks after it and, again after the body is read (body parsing leaves the async context),
 * for validation, pre-handlers and the handler, so calls they make are children of the span.
 */
export function traceRequests(app: FastifyInstance, telemetry: ServiceTelemetry): void {
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    // Health probes (runtimes and container health checks poll them) would bury the traces people want.
    if (route === '/healthz' || route === '/readyz') return done();
    const span = telemetry.server({
      method: request.method,
      path: pathOf(request.url),
      route,
      headers: request.headers,
      requestId: request.id,
    });
    requestSpans.set(request, span);
    // 'close' comes after a complete answer and after a cut connection (abort and hang faults). An
    // answer that had started counts as given: event streams end that way when the client leaves.
    const res = reply.raw;
    res.once('close', () => span.end(res.headersSent ? res.statusCode : null, res.writableFinished));
    span.run(() => done());
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const span = requestSpans.get(request);
    if (span) span.run(() => done());
    else done();
  });
}

/** The detail of the problem a request failed with: the status message of its span. */
export function noteProblem(request: FastifyRequest, detail: string): void {
  requestSpans.get(request)?.problem(detail);
}

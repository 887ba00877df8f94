/**
 * The OpenTelemetry SDK of one service: tracer, meter and logger providers with the exporters the
 * plan names. Loaded with a dynamic import, and only when telemetry is configured.
 *
 * Not NodeSDK: it imports every exporter family (gRPC included) and expects instrumentations that
 * patch `require()`, which cannot see fastify or undici inside a bundle. The kit instruments its
 * server and client explicitly instead (http-server.ts, http-client.ts), which works the same from
 * sources and from bundles. Providers are per service, not global, so several services in one test
 * process keep their own resources; only the context manager is process-wide.
 */
import {
  context,
  createNoopLogger,
  createNoopMeter,
  diag,
  DiagLogLevel,
  SeverityNumber,
  trace,
  type DiagLogger,
  type Logger,
  type Meter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_CONTAINER_ID,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
} from '@opentelemetry/semantic-conventions';
import { detectContainerId } from './container-id.ts';
import { eventReporter } from './events.ts';
import { createLogExporter, createMetricExporter, createSpanExporter } from './exporters.ts';
import { clientInstrumentation } from './http-client.ts';
import { serverInstrumentation } from './http-server.ts';
import { observeBreakers, observeGauge, observeOutbox } from './metrics.ts';
import type { ExportPlan } from './settings.ts';
import type { Diagnostics, ServiceIdentity, ServiceTelemetry } from './types.ts';

export const ATTR_CLUSTER_ID = 'chaoscope.cluster.id';
const SCOPE = 'chaoscope-kit';

/** Queue bound: at 200 ms per batch it holds seconds of a busy gateway's spans before dropping. */
const SPAN_QUEUE = 2048;
const SPAN_BATCH = 512;
const SHUTDOWN_TIMEOUT_MS = 3_000;

export interface TelemetryOptions {
  readonly plan: ExportPlan;
  readonly identity: ServiceIdentity;
  /** Overrides the container id found in /proc (tests). */
  readonly containerId?: string | null;
}

export async function startTelemetry(options: TelemetryOptions): Promise<ServiceTelemetry> {
  const { plan, identity } = options;
  const containerId = options.containerId === undefined ? detectContainerId() : options.containerId;
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: identity.service,
      [ATTR_SERVICE_NAMESPACE]: 'chaoscope',
      [ATTR_SERVICE_INSTANCE_ID]: identity.instanceId,
      [ATTR_CLUSTER_ID]: identity.clusterId,
      'process.pid': process.pid,
      ...(containerId ? { [ATTR_CONTAINER_ID]: containerId } : {}),
    }),
  );

  const meterProvider = plan.metrics
    ? new MeterProvider({
        resource,
        readers: [
          new PeriodicExportingMetricReader({
            exporter: await createMetricExporter(plan.metrics),
            exportIntervalMillis: plan.metricIntervalMs,
            exportTimeoutMillis: Math.min(plan.metricIntervalMs, 5_000),
          }),
        ],
      })
    : undefined;
  // The span processor's own metrics include `otel.sdk.processor.span.processed` with
  // error.type=queue_full: the count of spans dropped because the exporter could not keep up.
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: await createSpanExporter(plan.traces, meterProvider),
        scheduledDelayMillis: plan.spanDelayMs,
        maxExportBatchSize: SPAN_BATCH,
        maxQueueSize: SPAN_QUEUE,
        exportTimeoutMillis: 5_000,
        selfObsMeterProvider: meterProvider,
      }),
    ],
  });
  const loggerProvider = plan.logs
    ? new LoggerProvider({
        resource,
        processors: [
          new BatchLogRecordProcessor({
            exporter: await createLogExporter(plan.logs),
            scheduledDelayMillis: plan.spanDelayMs,
            maxQueueSize: SPAN_QUEUE,
            selfObsMeterProvider: meterProvider,
          }),
        ],
      })
    : undefined;

  acquireContextManager();
  const tracer = tracerProvider.getTracer(SCOPE);
  const meter: Meter = meterProvider?.getMeter(SCOPE) ?? createNoopMeter();
  const logger: Logger = loggerProvider?.getLogger(SCOPE) ?? createNoopLogger();
  const propagator = new W3CTraceContextPropagator();
  const events = eventReporter(logger);

  let stopped: Promise<void> | undefined;
  const flush = async () => {
    await Promise.all([
      tracerProvider.forceFlush(),
      loggerProvider?.forceFlush(),
      meterProvider?.forceFlush(),
    ]);
  };

  return {
    plan,
    server: serverInstrumentation(tracer, meter, propagator),
    client: clientInstrumentation(tracer, meter, propagator),
    breakerTransition: events.breakerTransition,
    faultApplied: events.faultApplied,
    outboxFailure: events.outboxFailure,
    observeBreakers: (snapshots) => observeBreakers(meter, snapshots),
    observeOutbox: (stats) => observeOutbox(meter, stats),
    gauge: (name, gaugeOptions, observe) => observeGauge(meter, name, gaugeOptions, observe),
    logFields(): Record<string, string> {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    log(severityText, body, attributes) {
      logger.emit({ severityNumber: SeverityNumber[severityText], severityText, body, attributes });
    },
    setDiagnostics(diagnostics) {
      diagnosticsTarget.current = diagnostics;
    },
    flush,
    shutdown() {
      stopped ??= (async () => {
        // Spans and logs first: their processors may still add to the self-observability metrics.
        await withTimeout(
          Promise.all([tracerProvider.shutdown(), loggerProvider?.shutdown()]),
          SHUTDOWN_TIMEOUT_MS,
        );
        await withTimeout(meterProvider?.shutdown() ?? Promise.resolve(), SHUTDOWN_TIMEOUT_MS);
        releaseContextManager();
      })();
      return stopped;
    },
  };
}

/**
 * Spans follow the request through promises only with a context manager; AsyncLocalStorage costs
 * a little on every promise, so it is enabled only while some service in this process exports,
 * and disabled again when the last one stops.
 */
let contextUsers = 0;
let contextManager: AsyncLocalStorageContextManager | undefined;

function acquireContextManager(): void {
  contextUsers += 1;
  if (contextUsers > 1) return;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) contextManager = manager;
  else manager.disable(); // someone else's manager is in place: theirs serves us as well
  installDiagnostics();
}

function releaseContextManager(): void {
  contextUsers -= 1;
  if (contextUsers > 0 || !contextManager) return;
  context.disable();
  contextManager = undefined;
}

const diagnosticsTarget: { current: Diagnostics | undefined } = { current: undefined };

/**
 * The SDK reports failed exports through `diag`. A dead collector would produce one line per
 * batch (five a second), so repeats of a message are folded into one line every 30 s with a count.
 */
function installDiagnostics(): void {
  const lastByMessage = new Map<string, { at: number; suppressed: number }>();
  const write = (level: string, message: string, args: unknown[]) => {
    const now = Date.now();
    const key = message.slice(0, 80);
    const last = lastByMessage.get(key);
    if (last && now - last.at < 30_000) {
      last.suppressed += 1;
      return;
    }
    if (lastByMessage.size > 100) lastByMessage.clear();
    lastByMessage.set(key, { at: now, suppressed: 0 });
    const fields = {
      component: 'opentelemetry',
      level,
      ...(last?.suppressed ? { repeated: last.suppressed } : {}),
      ...(args.length ? { details: args.map((a) => (a instanceof Error ? a.message : String(a))) } : {}),
    };
    const target = diagnosticsTarget.current;
    if (target) target.warn(fields, `opentelemetry: ${message}`);
    else process.stderr.write(`opentelemetry: ${message} ${fields.details?.join(' ') ?? ''}\n`);
  };
  const logger: DiagLogger = {
    error: (message, ...args) => write('error', message, args),
    warn: (message, ...args) => write('warn', message, args),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The exporters of each family, each loaded only when chosen: a dynamic import becomes its own
 * chunk in the service bundles, so a service exporting OTLP/protobuf never loads the JSON or
 * Jaeger code (and a service without telemetry loads none of it).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { MeterProvider } from '@opentelemetry/api';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type * as JaegerExporterModule from '@opentelemetry/exporter-jaeger';
import type { ExportPlan, OtlpTarget } from './settings.ts';

/** Kept in step with jaeger-bundle.ts (not imported from it: that module pulls in esbuild). */
const JAEGER_BUNDLE_FILE = 'jaeger-exporter.cjs';

/** Spans are exported every few hundred milliseconds; one slow request must not hold up the next. */
const EXPORT_TIMEOUT_MS = 5_000;

export async function createSpanExporter(
  target: ExportPlan['traces'],
  selfObsMeterProvider: MeterProvider | undefined,
): Promise<SpanExporter> {
  const options = { url: target.url, timeoutMillis: EXPORT_TIMEOUT_MS, selfObsMeterProvider };
  switch (target.protocol) {
    case 'otlp-proto': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      return new OTLPTraceExporter(options);
    }
    case 'otlp-json': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      return new OTLPTraceExporter(options);
    }
    case 'jaeger': {
      const { JaegerExporter } = loadJaegerExporter();
      return new JaegerExporter({ endpoint: target.url, flushTimeout: EXPORT_TIMEOUT_MS });
    }
  }
}

export async function createMetricExporter(target: OtlpTarget): Promise<PushMetricExporter> {
  const options = { url: target.url, timeoutMillis: EXPORT_TIMEOUT_MS };
  if (target.protocol === 'otlp-proto') {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
    return new OTLPMetricExporter(options);
  }
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
  return new OTLPMetricExporter(options);
}

export async function createLogExporter(target: OtlpTarget): Promise<LogRecordExporter> {
  const options = { url: target.url, timeoutMillis: EXPORT_TIMEOUT_MS };
  if (target.protocol === 'otlp-proto') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-proto');
    return new OTLPLogExporter(options);
  }
  const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');
  return new OTLPLogExporter(options);
}

type JaegerModule = typeof JaegerExporterModule;

/**
 * The Jaeger exporter cannot live in the ES module bundles (jaeger-bundle.ts says why), so it is
 * required at run time: first the self-contained `jaeger-exporter.cjs` that jaeger-bundle.ts
 * writes next to the service bundles (what a container image ships), then node_modules next to
 * this file (running from sources), then from the working directory (the process runtime starts
 * services in the repository). Where none has it, say so plainly.
 */
function loadJaegerExporter(): JaegerModule {
  const name = '@opentelemetry/exporter-jaeger';
  const candidates: [base: string, id: string][] = [
    [import.meta.url, `./${JAEGER_BUNDLE_FILE}`],
    [import.meta.url, name],
    [join(process.cwd(), 'package.json'), name],
  ];
  for (const [base, id] of candidates) {
    try {
      return createRequire(base)(id) as JaegerModule;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  throw new Error(
    `OTEL_EXPORTER=jaeger needs ${JAEGER_BUNDLE_FILE} next to the service bundle or ${name} in node_modules; use otlp-proto or otlp-json instead`,
  );
}

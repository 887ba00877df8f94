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
 * The Jaeger exporter cannot live in a bundle: jaeger-client reads its Thrift IDL from files next to
 * its own sources (`__dirname`) and one of its dependencies assigns to a function's `name`, which
 * throws in an ES module. So it is required from node_modules at run time: next to this file when
 * running from sources, else from the working directory (the process runtime starts services in
 * the repository). Where neither has it (a container image with bundles only), say so plainly.
 */
function loadJaegerExporter(): JaegerModule {
  const bases = [import.meta.url, join(process.cwd(), 'package.json')];
  const name = '@opentelemetry/exporter-jaeger';
  for (const base of bases) {
    try {
      return createRequire(base)(name) as JaegerModule;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  throw new Error(
    `OTEL_EXPORTER=jaeger needs ${name} in node_modules (it cannot be bundled); use otlp-proto or otlp-json instead`,
  );
}

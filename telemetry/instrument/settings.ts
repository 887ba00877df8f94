/**
 * Which exporters a service starts, decided from its configuration alone. Pure, so the "no endpoint,
 * no SDK" rule is tested without starting anything.
 */

export type ExporterName = 'otlp-proto' | 'otlp-json' | 'jaeger' | 'none';
export type OtlpProtocol = 'otlp-proto' | 'otlp-json';

/** The telemetry part of a service's configuration (already validated by the kit's schema). */
export interface TelemetryConfig {
  readonly OTEL_EXPORTER?: ExporterName | undefined;
  /** OTLP/HTTP base URL, e.g. http://127.0.0.1:4318; the signal paths (/v1/traces …) are appended. */
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** Jaeger Thrift-over-HTTP collector URL, e.g. http://127.0.0.1:14268/api/traces. */
  readonly OTEL_EXPORTER_JAEGER_ENDPOINT?: string | undefined;
  /** Delay between span batches (OpenTelemetry's own variable name). */
  readonly OTEL_BSP_SCHEDULE_DELAY?: number | undefined;
  /** Interval between metric exports (OpenTelemetry's own variable name). */
  readonly OTEL_METRIC_EXPORT_INTERVAL?: number | undefined;
}

export interface OtlpTarget {
  readonly protocol: OtlpProtocol;
  readonly url: string;
}

export interface ExportPlan {
  readonly traces: OtlpTarget | { readonly protocol: 'jaeger'; readonly url: string };
  /** Null when only traces can be sent (Jaeger without an OTLP endpoint). */
  readonly metrics: OtlpTarget | null;
  readonly logs: OtlpTarget | null;
  readonly spanDelayMs: number;
  readonly metricIntervalMs: number;
}

export type TelemetryDecision =
  | { readonly enabled: true; readonly plan: ExportPlan }
  | { readonly enabled: false; readonly reason: string; readonly misconfigured: boolean };

/** A span is in the collector well under a second after it ends. */
export const DEFAULT_SPAN_DELAY_MS = 200;
/** Breaker and RED charts refresh at this pace. */
export const DEFAULT_METRIC_INTERVAL_MS = 3_000;

export function decideTelemetry(config: TelemetryConfig): TelemetryDecision {
  const otlp = config.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  const jaeger = config.OTEL_EXPORTER_JAEGER_ENDPOINT?.trim() || undefined;
  const exporter = config.OTEL_EXPORTER ?? (otlp ? 'otlp-proto' : jaeger ? 'jaeger' : 'none');
  const timing = {
    spanDelayMs: config.OTEL_BSP_SCHEDULE_DELAY ?? DEFAULT_SPAN_DELAY_MS,
    metricIntervalMs: config.OTEL_METRIC_EXPORT_INTERVAL ?? DEFAULT_METRIC_INTERVAL_MS,
  };
  switch (exporter) {
    case 'none':
      return {
        enabled: false,
        reason: config.OTEL_EXPORTER === 'none' ? 'OTEL_EXPORTER=none' : 'no exporter endpoint configured',
        misconfigured: false,
      };
    case 'otlp-proto':
    case 'otlp-json': {
      if (!otlp)
        return {
          enabled: false,
          reason: `OTEL_EXPORTER=${exporter} needs OTEL_EXPORTER_OTLP_ENDPOINT`,
          misconfigured: true,
        };
      const target = (signal: string): OtlpTarget => ({ protocol: exporter, url: signalUrl(otlp, signal) });
      return {
        enabled: true,
        plan: { traces: target('traces'), metrics: target('metrics'), logs: target('logs'), ...timing },
      };
    }
    case 'jaeger': {
      if (!jaeger)
        return {
          enabled: false,
          reason: 'OTEL_EXPORTER=jaeger needs OTEL_EXPORTER_JAEGER_ENDPOINT',
          misconfigured: true,
        };
      // Jaeger takes traces only; metrics and logs still go out when an OTLP endpoint is given too.
      const target = (signal: string): OtlpTarget | null =>
        otlp ? { protocol: 'otlp-proto', url: signalUrl(otlp, signal) } : null;
      return {
        enabled: true,
        plan: {
          traces: { protocol: 'jaeger', url: jaeger },
          metrics: target('metrics'),
          logs: target('logs'),
          ...timing,
        },
      };
    }
  }
}

/** As the OTLP specification says: the base endpoint plus `v1/<signal>`. */
export function signalUrl(base: string, signal: string): string {
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

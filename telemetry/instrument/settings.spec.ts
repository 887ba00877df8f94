import { describe, expect, it } from 'vitest';
import { decideTelemetry, signalUrl } from './settings.ts';

describe('decideTelemetry', () => {
  it('starts nothing without an endpoint, whatever else is set', () => {
    expect(decideTelemetry({})).toEqual({
      enabled: false,
      reason: 'no exporter endpoint configured',
      misconfigured: false,
    });
    expect(decideTelemetry({ OTEL_BSP_SCHEDULE_DELAY: 50 }).enabled).toBe(false);
    expect(decideTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }).enabled).toBe(false);
  });

  it('says so when an exporter is chosen without its endpoint', () => {
    expect(decideTelemetry({ OTEL_EXPORTER: 'otlp-json' })).toMatchObject({
      enabled: false,
      misconfigured: true,
      reason: 'OTEL_EXPORTER=otlp-json needs OTEL_EXPORTER_OTLP_ENDPOINT',
    });
    expect(
      decideTelemetry({ OTEL_EXPORTER: 'jaeger', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }),
    ).toMatchObject({ enabled: false, misconfigured: true });
  });

  it('is off with OTEL_EXPORTER=none even when endpoints are set', () => {
    expect(
      decideTelemetry({ OTEL_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }),
    ).toMatchObject({ enabled: false, misconfigured: false, reason: 'OTEL_EXPORTER=none' });
  });

  it('defaults to OTLP protobuf for every signal when an OTLP endpoint is set', () => {
    const decision = decideTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' });
    expect(decision).toEqual({
      enabled: true,
      plan: {
        traces: { protocol: 'otlp-proto', url: 'http://127.0.0.1:4318/v1/traces' },
        metrics: { protocol: 'otlp-proto', url: 'http://127.0.0.1:4318/v1/metrics' },
        logs: { protocol: 'otlp-proto', url: 'http://127.0.0.1:4318/v1/logs' },
        spanDelayMs: 200,
        metricIntervalMs: 3_000,
      },
    });
  });

  it('uses JSON when asked, with the export delays given', () => {
    const decision = decideTelemetry({
      OTEL_EXPORTER: 'otlp-json',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_BSP_SCHEDULE_DELAY: 50,
      OTEL_METRIC_EXPORT_INTERVAL: 500,
    });
    expect(decision.enabled && decision.plan).toMatchObject({
      traces: { protocol: 'otlp-json', url: 'http://collector:4318/v1/traces' },
      logs: { protocol: 'otlp-json' },
      spanDelayMs: 50,
      metricIntervalMs: 500,
    });
  });

  it('sends traces to Jaeger, and metrics and logs over OTLP only when an OTLP endpoint is given too', () => {
    const jaegerOnly = decideTelemetry({
      OTEL_EXPORTER_JAEGER_ENDPOINT: 'http://127.0.0.1:14268/api/traces',
    });
    expect(jaegerOnly.enabled && jaegerOnly.plan).toMatchObject({
      traces: { protocol: 'jaeger', url: 'http://127.0.0.1:14268/api/traces' },
      metrics: null,
      logs: null,
    });
    const both = decideTelemetry({
      OTEL_EXPORTER: 'jaeger',
      OTEL_EXPORTER_JAEGER_ENDPOINT: 'http://127.0.0.1:14268/api/traces',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    });
    expect(both.enabled && both.plan).toMatchObject({
      traces: { protocol: 'jaeger' },
      metrics: { protocol: 'otlp-proto', url: 'http://127.0.0.1:4318/v1/metrics' },
    });
  });

  it('builds signal URLs as the OTLP specification does', () => {
    expect(signalUrl('http://h:4318', 'logs')).toBe('http://h:4318/v1/logs');
    expect(signalUrl('http://h:4318/base//', 'traces')).toBe('http://h:4318/base/v1/traces');
  });
});

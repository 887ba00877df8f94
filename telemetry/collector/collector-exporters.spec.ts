/**
 * The collector against the real OpenTelemetry and Jaeger exporters: what a service sends with any
 * of the cluster's exporter choices arrives in the sink as whole traces, with events, error status,
 * attributes, parent links and links; metrics and logs likewise.
 */
import { SeverityNumber, SpanKind, SpanStatusCode, ValueType, context, trace } from '@opentelemetry/api';
import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../model/telemetry.ts';
import { createCollector, type Collector } from './collector.ts';
import { RecordingSink, eventually } from './test-support.ts';

const RESOURCE = {
  'service.name': 'timeline',
  'service.instance.id': 'timeline-1',
  'deployment.environment': 'lab',
};

let sink: RecordingSink;
let collector: Collector;

beforeEach(async () => {
  sink = new RecordingSink();
  collector = await createCollector({ sink, otlpPort: 0, jaegerPort: 0 });
});

afterEach(async () => {
  await collector.close();
});

interface SentTrace {
  readonly traceId: string;
  readonly serverSpanId: string;
  readonly clientSpanId: string;
  readonly linked: { readonly traceId: string; readonly spanId: string };
}

/** A home-timeline read as a service records it: a server span, a failing client call, a link. */
async function sendTrace(exporter: SpanExporter): Promise<SentTrace> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes(RESOURCE),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('chaoscope-test', '1.2.3');
  const background = tracer.startSpan('outbox.flush');
  background.end();
  const server = tracer.startSpan('GET /timeline', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 502,
      'retry.ratio': 0.25,
      'cache.hit': false,
      'user.roles': ['reader', 'writer'],
    },
  });
  const client = tracer.startSpan(
    'GET tweets',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'peer.service': 'tweets' },
      links: [{ context: background.spanContext(), attributes: { 'link.reason': 'outbox' } }],
    },
    trace.setSpan(context.active(), server),
  );
  client.addEvent('breaker.open', { 'breaker.name': 'timeline->tweets', 'breaker.failures': 5 });
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'circuit open' });
  client.end();
  server.setStatus({ code: SpanStatusCode.ERROR });
  server.end();
  await provider.forceFlush();
  await provider.shutdown();
  return {
    traceId: server.spanContext().traceId,
    serverSpanId: server.spanContext().spanId,
    clientSpanId: client.spanContext().spanId,
    linked: { traceId: background.spanContext().traceId, spanId: background.spanContext().spanId },
  };
}

function spanById(id: string): SpanRecord {
  const span = sink.spans.find((s) => s.spanId === id);
  if (!span) throw new Error(`span ${id} not in the sink (has ${sink.spans.map((s) => s.name).join(', ')})`);
  return span;
}

/** What every exporter must deliver, whatever its wire format. */
function expectWholeTrace(sent: SentTrace): { server: SpanRecord; client: SpanRecord } {
  expect(sink.spans).toHaveLength(3);
  const server = spanById(sent.serverSpanId);
  const client = spanById(sent.clientSpanId);
  for (const span of [server, client]) {
    expect(span.traceId).toBe(sent.traceId);
    expect(span.service).toBe('timeline');
    expect(span.instance).toBe('timeline-1');
    expect(typeof span.startUnixNano).toBe('bigint');
    expect(span.endUnixNano).toBeGreaterThanOrEqual(span.startUnixNano);
    // Within a minute of now: the nanosecond scale survived the trip.
    expect(Number(span.startUnixNano / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    expect(span.scope).toEqual({ name: 'chaoscope-test', version: '1.2.3' });
    expect(span.resource['service.name']).toBe('timeline');
  }
  expect(server.parentSpanId).toBeNull();
  expect(server.name).toBe('GET /timeline');
  expect(server.kind).toBe('server');
  expect(server.statusCode).toBe('error');
  expect(server.attributes).toMatchObject({
    'http.request.method': 'GET',
    'http.response.status_code': 502,
    'retry.ratio': 0.25,
    'cache.hit': false,
  });

  expect(client.parentSpanId).toBe(sent.serverSpanId);
  expect(client.kind).toBe('client');
  expect(client.statusCode).toBe('error');
  expect(client.statusMessage).toBe('circuit open');
  expect(client.attributes['peer.service']).toBe('tweets');
  expect(client.events).toHaveLength(1);
  expect(client.events[0]).toMatchObject({
    name: 'breaker.open',
    attributes: { 'breaker.name': 'timeline->tweets', 'breaker.failures': 5 },
  });
  expect(client.events[0]!.timeUnixNano).toBeGreaterThanOrEqual(
    (client.startUnixNano / 1_000_000n) * 1_000_000n,
  );
  expect(client.links).toHaveLength(1);
  expect(client.links[0]).toMatchObject({ traceId: sent.linked.traceId, spanId: sent.linked.spanId });
  return { server, client };
}

describe('OTLP/HTTP protobuf', () => {
  it('takes a whole trace from the proto exporter, with events, error status, attributes and links', async () => {
    const sent = await sendTrace(new OTLPProtoTraceExporter({ url: `${collector.otlpUrl}/v1/traces` }));
    const { server, client } = expectWholeTrace(sent);
    expect(server.attributes['user.roles']).toEqual(['reader', 'writer']);
    expect(server.resource).toMatchObject(RESOURCE);
    expect(client.links[0]!.attributes).toEqual({ 'link.reason': 'outbox' });
    expect(collector.stats().services['timeline']?.spans).toEqual({
      received: 3,
      stored: 3,
      refused: 0,
      dropped: 0,
    });
    expect(collector.stats().endpoints['/v1/traces protobuf']?.statuses).toEqual({ 200: 3 });
  });

  it('takes gzip-compressed exports', async () => {
    const sent = await sendTrace(
      new OTLPProtoTraceExporter({
        url: `${collector.otlpUrl}/v1/traces`,
        compression: CompressionAlgorithm.GZIP,
      }),
    );
    expectWholeTrace(sent);
    expect(collector.stats().endpoints['/v1/traces protobuf']?.compressed).toBe(3);
  });
});

describe('OTLP/HTTP JSON', () => {
  it('takes a whole trace from the JSON exporter (hex ids, string int64s)', async () => {
    const sent = await sendTrace(new OTLPJsonTraceExporter({ url: `${collector.otlpUrl}/v1/traces` }));
    const { server, client } = expectWholeTrace(sent);
    expect(server.attributes['user.roles']).toEqual(['reader', 'writer']);
    expect(client.links[0]!.attributes).toEqual({ 'link.reason': 'outbox' });
    expect(collector.stats().endpoints['/v1/traces json']?.statuses).toEqual({ 200: 3 });
  });

  it('takes gzip-compressed JSON', async () => {
    const sent = await sendTrace(
      new OTLPJsonTraceExporter({
        url: `${collector.otlpUrl}/v1/traces`,
        compression: CompressionAlgorithm.GZIP,
      }),
    );
    expectWholeTrace(sent);
    expect(collector.stats().endpoints['/v1/traces json']?.compressed).toBe(3);
  });
});

describe('Jaeger Thrift over HTTP', () => {
  it('takes a whole trace from the Jaeger exporter: service from the process, error tag, logs as events, references', async () => {
    const sent = await sendTrace(new JaegerExporter({ endpoint: collector.jaegerUrl }));
    const { server, client } = expectWholeTrace(sent);
    // Jaeger tags cannot carry arrays: the exporter sends their text.
    expect(server.attributes['user.roles']).toBe('reader,writer');
    // The translation tags became fields again, not attributes.
    expect(client.attributes).not.toHaveProperty('span.kind');
    expect(client.attributes).not.toHaveProperty('otel.status_code');
    expect(client.attributes).not.toHaveProperty('error');
    expect(client.links[0]!.attributes).toEqual({ 'jaeger.ref_type': 'FOLLOWS_FROM' });
    const background = spanById(sent.linked.spanId);
    expect(background.kind).toBe('internal');
    expect(background.statusCode).toBe('unset');
    expect(Object.keys(collector.stats().endpoints['/api/traces thrift']?.statuses ?? {})).toEqual(['202']);
    expect(collector.stats().services['timeline']?.spans.stored).toBe(3);
  });
});

describe('metrics and logs', () => {
  it('takes metrics from the OTLP proto metric exporter: sums, gauges and histograms', async () => {
    const exporter = new OTLPMetricExporter({ url: `${collector.otlpUrl}/v1/metrics` });
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ resource: resourceFromAttributes(RESOURCE), readers: [reader] });
    const meter = provider.getMeter('chaoscope-test');
    meter.createCounter('breaker.rejections').add(3, { circuit: 'timeline->tweets' });
    meter.createGauge('outbox.lag', { unit: 'ms', valueType: ValueType.INT }).record(42);
    const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
    for (const v of [0.004, 0.02, 0.3, 1.5]) duration.record(v, { 'http.route': '/timeline' });
    // Shutting down collects and exports once.
    await provider.shutdown();

    await eventually(() => sink.metrics.length >= 3, 'three metric points');
    const byName = Object.fromEntries(sink.metrics.map((p) => [p.name, p]));
    expect(byName['breaker.rejections']).toMatchObject({
      kind: 'sum',
      value: 3,
      service: 'timeline',
      instance: 'timeline-1',
      attributes: { circuit: 'timeline->tweets' },
    });
    expect(byName['outbox.lag']).toMatchObject({ kind: 'gauge', value: 42, unit: 'ms' });
    const histogram = byName['http.server.request.duration']!;
    expect(histogram).toMatchObject({
      kind: 'histogram',
      unit: 's',
      value: null,
      attributes: { 'http.route': '/timeline' },
    });
    expect(histogram.histogram!.count).toBe(4);
    expect(histogram.histogram!.sum).toBeCloseTo(1.824);
    expect(histogram.histogram!.counts).toHaveLength(histogram.histogram!.bounds.length + 1);
    expect(histogram.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(typeof histogram.timeUnixNano).toBe('bigint');
    expect(collector.stats().services['timeline']?.dataPoints.stored).toBe(3);
  });

  it('takes log records from the OTLP proto log exporter, with trace context', async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes(RESOURCE),
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new OTLPLogExporter({ url: `${collector.otlpUrl}/v1/logs` }),
        }),
      ],
    });
    const tracer = new TracerProvider().getTracer('t');
    const span = tracer.startSpan('GET /timeline');
    provider.getLogger('chaoscope-test').emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'breaker timeline->tweets opened',
      attributes: { 'breaker.state': 'open' },
      eventName: 'breaker.transition',
      context: trace.setSpan(context.active(), span),
    });
    provider
      .getLogger('chaoscope-test')
      .emit({ severityNumber: SeverityNumber.INFO, body: { structured: true, n: 1 } });
    await provider.forceFlush();
    await provider.shutdown();

    await eventually(() => sink.logs.length >= 2, 'two log records');
    const [warn, info] = sink.logs;
    expect(warn).toMatchObject({
      service: 'timeline',
      instance: 'timeline-1',
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'breaker timeline->tweets opened',
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      attributes: { 'breaker.state': 'open', 'event.name': 'breaker.transition' },
    });
    expect(info).toMatchObject({
      severityNumber: SeverityNumber.INFO,
      body: '{"structured":true,"n":1}',
      traceId: null,
    });
    expect(warn!.timeUnixNano).toBeGreaterThan(0n);
  });
});

describe('back-pressure with real exporters', () => {
  it('answers 503 with Retry-After while the sink is not accepting, and the exporter retries until it is', async () => {
    sink.refuseChecks = 2;
    sink.retryAfterSeconds = 1;
    const started = Date.now();
    const sent = await sendTrace(
      new OTLPProtoTraceExporter({ url: `${collector.otlpUrl}/v1/traces`, timeoutMillis: 15_000 }),
    );
    await eventually(() => sink.spans.length === 3, 'all three spans after the retries');
    expectWholeTrace(sent);
    // Two refusals, each asking for a second before the retry.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const stats = collector.stats();
    expect(stats.throttledRequests).toBe(2);
    expect(stats.endpoints['/v1/traces protobuf']?.statuses).toEqual({ 200: 3, 503: 2 });
  });
});

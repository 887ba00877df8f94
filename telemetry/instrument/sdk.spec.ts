import { afterEach, describe, expect, it } from 'vitest';
import { decideTelemetry, type ExportPlan, type TelemetryConfig } from './settings.ts';
import { startTelemetry } from './sdk.ts';
import { OtlpJsonReceiver, SPAN_KIND } from './test-receiver.ts';
import type { ServiceTelemetry } from './types.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const identity = { service: 'gateway', instanceId: 'gateway-1', clusterId: 'c-test' };

function plan(config: TelemetryConfig): ExportPlan {
  const decision = decideTelemetry(config);
  if (!decision.enabled) throw new Error(decision.reason);
  return decision.plan;
}

async function receiver(): Promise<OtlpJsonReceiver> {
  const r = await OtlpJsonReceiver.start();
  cleanups.push(() => r.close());
  return r;
}

async function started(
  config: TelemetryConfig,
  containerId: string | null = null,
): Promise<ServiceTelemetry> {
  const telemetry = await startTelemetry({ plan: plan(config), identity, containerId });
  cleanups.push(() => telemetry.shutdown());
  return telemetry;
}

async function eventually<T>(read: () => T, ok: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('startTelemetry (OTLP JSON to a real receiver)', () => {
  it('continues the incoming trace, nests the client call, and exports both within the span delay', async () => {
    const r = await receiver();
    const telemetry = await started(
      { OTEL_EXPORTER: 'otlp-json', OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_BSP_SCHEDULE_DELAY: 100 },
      'f'.repeat(64),
    );
    const incomingTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const server = telemetry.server({
      method: 'GET',
      path: '/api/timeline',
      route: '/api/timeline',
      headers: { traceparent: `00-${incomingTrace}-00f067aa0ba902b7-01`, 'x-chaoscope-caller': 'loadgen' },
      requestId: 'req-1',
    });
    const outgoing: Record<string, string> = {};
    server.run(() => {
      const call = telemetry.client({
        callee: 'timeline',
        method: 'GET',
        path: '/v1/timelines/home/ann',
        breaker: 'gateway:timeline',
        breakerState: 'closed',
      });
      call.run(() => {
        call.target('127.0.0.1:4105', 'timeline-1');
        call.inject(outgoing);
        call.response(200);
        telemetry.breakerTransition({
          breaker: 'gateway:timeline',
          from: 'closed',
          to: 'open',
          reason: '3 failures in a row',
        });
      });
      call.end();
      telemetry.faultApplied({
        faultId: 'f-1',
        kind: 'latency',
        method: 'GET',
        path: '/api/timeline',
        caller: null,
      });
    });
    const ended = Date.now();
    server.problem('timeline failed (500)');
    server.end(502);

    const spans = await eventually(
      () => r.spans(),
      (s) => s.length >= 2,
    );
    // Well under a second from the end of the span to the receiver (delay 100 ms here).
    expect(Date.now() - ended).toBeLessThan(1_000);
    const serverSpan = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
    const clientSpan = spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
    expect(serverSpan).toMatchObject({
      traceId: incomingTrace,
      parentSpanId: '00f067aa0ba902b7',
      name: 'GET /api/timeline',
      status: { code: 2, message: 'timeline failed (500)' },
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/api/timeline',
        'url.path': '/api/timeline',
        'http.response.status_code': 502,
        'error.type': '502',
        'chaoscope.caller': 'loadgen',
        'chaoscope.request_id': 'req-1',
      },
      resource: {
        'service.name': 'gateway',
        'service.instance.id': 'gateway-1',
        'chaoscope.cluster.id': 'c-test',
        'container.id': 'f'.repeat(64),
      },
    });
    expect(serverSpan.events.map((e) => e.name)).toEqual(['fault.applied']);
    expect(serverSpan.events[0]!.attributes).toMatchObject({ 'fault.id': 'f-1', 'fault.kind': 'latency' });
    expect(clientSpan).toMatchObject({
      traceId: incomingTrace,
      parentSpanId: serverSpan.spanId,
      name: 'GET timeline',
      status: { code: 0 },
      attributes: {
        'peer.service': 'timeline',
        'server.address': '127.0.0.1',
        'server.port': 4105,
        'breaker.name': 'gateway:timeline',
        'breaker.state': 'closed',
        'chaoscope.degraded': false,
        'http.response.status_code': 200,
      },
    });
    expect(clientSpan.events).toEqual([
      {
        name: 'breaker.transition',
        attributes: {
          'breaker.name': 'gateway:timeline',
          'breaker.from': 'closed',
          'breaker.to': 'open',
          'breaker.reason': '3 failures in a row',
        },
      },
    ]);
    expect(outgoing.traceparent).toBe(`00-${incomingTrace}-${clientSpan.spanId}-01`);

    // The same events as log records, in the trace, with the store's event.name convention.
    const logs = await eventually(
      () => r.logs(),
      (l) => l.length >= 2,
    );
    expect(logs.find((l) => l.eventName === 'breaker.transition')).toMatchObject({
      traceId: incomingTrace,
      spanId: clientSpan.spanId,
      severityText: 'WARN',
      attributes: { 'event.name': 'breaker.transition', 'breaker.to': 'open' },
      resource: { 'service.name': 'gateway' },
    });
    expect(logs.find((l) => l.eventName === 'fault.applied')?.spanId).toBe(serverSpan.spanId);
  });

  it('marks a degraded call and a failed one as errors; a 4xx answer is not an error', async () => {
    const r = await receiver();
    const telemetry = await started({
      OTEL_EXPORTER: 'otlp-json',
      OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
      OTEL_BSP_SCHEDULE_DELAY: 20,
    });
    const call = (callee: string) =>
      telemetry.client({
        callee,
        method: 'GET',
        path: '/x',
        breaker: `gateway:${callee}`,
        breakerState: 'open',
      });
    call('users').end('users: circuit breaker is open');
    const failed = call('tweets');
    failed.target('127.0.0.1:1', 'tweets-1');
    failed.fail('tweets refused the connection', 'ECONNREFUSED');
    const notFound = call('auth');
    notFound.response(404);
    notFound.end();
    const spans = await eventually(
      () => r.spans(),
      (s) => s.length >= 3,
    );
    const byPeer = (peer: string) => spans.find((s) => s.attributes['peer.service'] === peer)!;
    expect(byPeer('users')).toMatchObject({
      status: { code: 2, message: 'users: circuit breaker is open' },
      attributes: { 'chaoscope.degraded': true, 'breaker.state': 'open' },
    });
    expect(byPeer('tweets')).toMatchObject({
      status: { code: 2, message: 'tweets refused the connection' },
      attributes: { 'error.type': 'ECONNREFUSED', 'chaoscope.degraded': false },
    });
    expect(byPeer('auth').status.code).toBe(0);
  });

  it('exports HTTP durations, breaker and outbox gauges, and the span processor drop counter', async () => {
    const r = await receiver();
    const telemetry = await started({
      OTEL_EXPORTER: 'otlp-json',
      OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
      OTEL_BSP_SCHEDULE_DELAY: 20,
      OTEL_METRIC_EXPORT_INTERVAL: 200,
    });
    telemetry.observeBreakers(() => [
      {
        name: 'gateway:users',
        callee: 'users',
        state: 'forced-open',
        counts: { requests: 7, failure: 2, shortCircuited: 5 },
        errorPercentage: 100,
        latencyMs: { p50: 3, p99: 40 },
      },
    ]);
    telemetry.observeOutbox(() => ({
      pending: 4,
      oldestPendingAgeMs: 1_500,
      delivered: 10,
      failedAttempts: 3,
      parked: 1,
      byDestination: { timeline: { pending: 4 }, realtime: { pending: 0 } },
    }));
    const server = telemetry.server({ method: 'GET', path: '/a', route: '/a', headers: {}, requestId: 'r' });
    server.end(200);
    const call = telemetry.client({
      callee: 'users',
      method: 'GET',
      path: '/a',
      breaker: 'b',
      breakerState: 'closed',
    });
    call.target('127.0.0.1:9', 'users-1');
    call.response(200);
    call.end();

    const wanted = [
      'http.server.request.duration',
      'http.client.request.duration',
      'chaoscope.breaker.state',
      'chaoscope.outbox.pending',
      'otel.sdk.processor.span.processed',
    ];
    const metrics = await eventually(
      () => r.metrics(),
      (m) => wanted.every((name) => m.some((x) => x.name === name)),
    );
    const latest = (name: string) => metrics.filter((m) => m.name === name).at(-1)!;
    expect(latest('http.server.request.duration')).toMatchObject({
      unit: 's',
      points: [
        {
          attributes: { 'http.request.method': 'GET', 'http.route': '/a', 'http.response.status_code': 200 },
        },
      ],
    });
    expect(latest('http.client.request.duration').points[0]!.attributes).toMatchObject({
      'peer.service': 'users',
      'server.address': '127.0.0.1',
    });
    expect(latest('chaoscope.breaker.state').points).toEqual([
      { attributes: { 'breaker.name': 'gateway:users', 'peer.service': 'users' }, value: 3 },
    ]);
    expect(latest('chaoscope.breaker.rolling.calls').points).toContainEqual({
      attributes: {
        'breaker.name': 'gateway:users',
        'peer.service': 'users',
        'breaker.outcome': 'shortCircuited',
      },
      value: 5,
    });
    expect(latest('chaoscope.outbox.pending').points).toContainEqual({
      attributes: { 'outbox.destination': 'timeline' },
      value: 4,
    });
    expect(latest('chaoscope.outbox.lag').points[0]!.value).toBe(1.5);
    expect(latest('otel.sdk.processor.span.processed').resource['service.name']).toBe('gateway');
  });

  it('sends OTLP protobuf by default', async () => {
    const r = await receiver();
    const telemetry = await started({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_BSP_SCHEDULE_DELAY: 20 });
    telemetry.server({ method: 'GET', path: '/', route: '/', headers: {}, requestId: 'r' }).end(200);
    await telemetry.flush();
    expect(r.requests.find((q) => q.path === '/v1/traces')?.contentType).toBe('application/x-protobuf');
  });

  it('sends Jaeger Thrift over HTTP with the Jaeger exporter', async () => {
    const r = await receiver();
    const telemetry = await started({
      OTEL_EXPORTER: 'jaeger',
      OTEL_EXPORTER_JAEGER_ENDPOINT: `${r.url}/api/traces`,
      OTEL_BSP_SCHEDULE_DELAY: 20,
    });
    telemetry.server({ method: 'GET', path: '/', route: '/', headers: {}, requestId: 'r' }).end(200);
    await telemetry.flush();
    const sent = r.requests.find((q) => q.path === '/api/traces');
    expect(sent?.contentType).toBe('application/x-thrift');
    expect((sent?.body as Buffer).includes('gateway')).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpJsonReceiver, SPAN_KIND, type ReceivedSpan } from '../../telemetry/instrument/test-receiver.ts';
import { baseConfigSchema, ConfigError, loadConfig } from './config.ts';
import { Outbox, OUTBOX_TABLE_SQL } from './outbox.ts';
import { openDatabase } from './storage.ts';
import { startService, type RunningService } from './server.ts';
import { freePort, testEnv, waitFor } from './testing.ts';

// Two real kit services in this process, "front" calling "back" through the ServiceClient. The kit
// may not import services, so discovery is DNS ("localhost" on back's port), as in outbox.spec.ts.

let receiver: OtlpJsonReceiver;
let back: RunningService;
let front: RunningService;
let backPort: number;

const otel = () => ({
  OTEL_EXPORTER: 'otlp-json',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_METRIC_EXPORT_INTERVAL: '300',
});

async function startBack(): Promise<RunningService> {
  return startService(
    {
      setup(app) {
        app.get('/v1/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
        app.get('/v1/boom', async () => {
          throw new Error('the database is on fire');
        });
        app.get('/v1/stream', (_request, reply) => {
          reply.hijack();
          reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
          reply.raw.write('data: hello\n\n');
        });
      },
    },
    testEnv('back', {
      ...otel(),
      PORT: String(backPort),
      ADVERTISE_ADDRESS: `127.0.0.1:${backPort}`,
      DISCOVERY: 'dns',
      DNS_PORT: '1',
      // Warnings and errors become log records; a silent logger has none to forward.
      LOG_LEVEL: 'error',
    }),
  );
}

beforeAll(async () => {
  receiver = await OtlpJsonReceiver.start();
  backPort = await freePort();
  back = await startBack();
  front = await startService(
    {
      setup(app, ctx) {
        ctx.breakers.setDefaults({ resetTimeoutMs: 60_000 });
        app.get('/hello/:id', async (request) => {
          const { id } = request.params as { id: string };
          const answer = await ctx.client.request<{ id: string }>('back', {
            path: `/v1/items/${id}`,
            requestId: request.id,
            fallback: () => ({ id: 'cached' }),
          });
          return { item: answer.body, degraded: answer.degraded };
        });
        app.get('/boom', async (request) => {
          const answer = await ctx.client.request('back', { path: '/v1/boom', requestId: request.id });
          return answer.body;
        });
      },
    },
    testEnv('front', {
      ...otel(),
      DISCOVERY: 'dns',
      DNS_HOST_TEMPLATE: 'localhost',
      DNS_PORT: String(backPort),
    }),
  );
});

afterAll(async () => {
  await front?.close();
  await back?.close();
  await receiver?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${front.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function traceOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
  let spans: ReceivedSpan[] = [];
  await waitFor(() => {
    spans = receiver.spans().filter((s) => s.traceId === traceId);
    return spans.length >= count;
  });
  return spans;
}

describe('kit telemetry (two real services, OTLP JSON to a real receiver)', () => {
  it('makes one trace of a call: front server span → client span → back server span', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const answer = await get('/hello/7', { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    expect(answer).toEqual({ status: 200, body: { item: { id: '7' }, degraded: false } });

    const spans = await traceOf(traceId, 3);
    const frontServer = spans.find(
      (s) => s.kind === SPAN_KIND.SERVER && s.resource['service.name'] === 'front',
    )!;
    const client = spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
    const backServer = spans.find(
      (s) => s.kind === SPAN_KIND.SERVER && s.resource['service.name'] === 'back',
    )!;
    expect(frontServer).toMatchObject({
      parentSpanId: 'b7ad6b7169203331',
      name: 'GET /hello/:id',
      attributes: { 'http.route': '/hello/:id', 'url.path': '/hello/7', 'http.response.status_code': 200 },
    });
    expect(client).toMatchObject({
      parentSpanId: frontServer.spanId,
      name: 'GET back',
      attributes: {
        'peer.service': 'back',
        'server.address': '127.0.0.1',
        'server.port': backPort,
        'breaker.name': 'front:back',
        'breaker.state': 'closed',
        'chaoscope.degraded': false,
      },
    });
    // traceparent went out with the call: back's span is the client span's child.
    expect(backServer).toMatchObject({
      parentSpanId: client.spanId,
      name: 'GET /v1/items/:id',
      attributes: {
        'chaoscope.caller': 'front',
        'chaoscope.request_id': frontServer.attributes['chaoscope.request_id'],
      },
      resource: { 'chaoscope.cluster.id': 'test-cluster' },
    });
  });

  it('puts the problem detail of a 5xx in the span status and the error log in the trace', async () => {
    const answer = await get('/boom');
    expect(answer.status).toBe(502);
    let backSpan: ReceivedSpan | undefined;
    await waitFor(() => {
      backSpan = receiver.spans().find((s) => s.attributes['url.path'] === '/v1/boom');
      return backSpan !== undefined;
    });
    const spans = await traceOf(backSpan!.traceId, 3);
    expect(backSpan).toMatchObject({
      status: { code: 2, message: 'the service failed to handle this request' },
      attributes: { 'http.response.status_code': 500, 'error.type': '500' },
    });
    expect(spans.find((s) => s.kind === SPAN_KIND.CLIENT)).toMatchObject({
      status: { code: 2, message: 'back failed (500)' },
      attributes: { 'error.type': '500', 'http.response.status_code': 500 },
    });
    expect(spans.find((s) => s.name === 'GET /boom')).toMatchObject({
      status: { code: 2, message: 'back failed (500)' },
      attributes: { 'http.response.status_code': 502 },
    });
    // The error line the kit logs is also an OpenTelemetry log record, in the same trace.
    await waitFor(() => receiver.logs().some((l) => l.body === 'request failed'));
    expect(receiver.logs().find((l) => l.body === 'request failed')).toMatchObject({
      severityText: 'ERROR',
      traceId: backSpan!.traceId,
      spanId: backSpan!.spanId,
      attributes: { 'exception.message': 'the database is on fire' },
      resource: { 'service.name': 'back' },
    });
  });

  it('records an applied fault as an event on the server span it hit', async () => {
    const fault = back.ctx.faults.add({ kind: 'error', status: 503, probability: 1, route: '/v1/items/42' });
    try {
      const answer = await get('/hello/42');
      expect(answer.body).toEqual({ item: { id: 'cached' }, degraded: true });
    } finally {
      back.ctx.faults.remove(fault.id);
    }
    let hit: ReceivedSpan | undefined;
    await waitFor(() => {
      hit = receiver.spans().find((s) => s.attributes['url.path'] === '/v1/items/42');
      return hit !== undefined;
    });
    expect(hit).toMatchObject({
      status: { code: 2, message: `fault injected by chaoscope (${fault.id})` },
      events: [{ name: 'fault.applied', attributes: { 'fault.id': fault.id, 'fault.kind': 'error' } }],
    });
    const client = await waitFor(() => receiver.spans().find((s) => s.spanId === hit!.parentSpanId));
    expect(client).toMatchObject({
      status: { code: 2, message: 'back answered 503' },
      attributes: { 'chaoscope.degraded': true, 'http.response.status_code': 503 },
    });
  });

  it('reports breaker transitions as span events and log records, and breaker state as a gauge', async () => {
    await back.close();
    try {
      for (let i = 0; i < 4; i++) expect((await get(`/hello/${i}`)).body.degraded).toBe(true);
      await waitFor(() => receiver.logs().some((l) => l.eventName === 'breaker.transition'));
      const log = receiver.logs().find((l) => l.eventName === 'breaker.transition')!;
      expect(log).toMatchObject({
        severityText: 'WARN',
        attributes: {
          'event.name': 'breaker.transition',
          'breaker.name': 'front:back',
          'breaker.from': 'closed',
          'breaker.to': 'open',
          'breaker.reason': '3 failures in a row',
        },
        resource: { 'service.name': 'front' },
      });
      // The call whose failure opened the breaker carries the event; the next one was refused.
      const opener = await waitFor(() => receiver.spans().find((s) => s.spanId === log.spanId));
      expect(opener.kind).toBe(SPAN_KIND.CLIENT);
      expect(opener.events.map((e) => e.name)).toEqual(['breaker.transition']);
      await waitFor(() =>
        receiver.spans().some((s) => s.kind === SPAN_KIND.CLIENT && s.attributes['breaker.state'] === 'open'),
      );
      await waitFor(
        () =>
          receiver
            .metrics()
            .filter((m) => m.name === 'chaoscope.breaker.state' && m.resource['service.name'] === 'front')
            .at(-1)?.points[0]?.value === 2,
      );
    } finally {
      back = await startBack();
      front.ctx.breakers.find('back')?.reset();
    }
  });

  it('leaves health probes out, and a stream the client left is an answer, not an error', async () => {
    expect((await fetch(`${back.url}/healthz`)).status).toBe(200);
    const leaving = new AbortController();
    const stream = await fetch(`${back.url}/v1/stream`, { signal: leaving.signal });
    expect(stream.status).toBe(200);
    leaving.abort();
    let streamSpan: ReceivedSpan | undefined;
    await waitFor(() => {
      streamSpan = receiver.spans().find((s) => s.attributes['url.path'] === '/v1/stream');
      return streamSpan !== undefined;
    });
    expect(streamSpan).toMatchObject({
      status: { code: 0 },
      attributes: { 'http.response.status_code': 200, 'chaoscope.response.incomplete': true },
    });
    expect(receiver.spans().filter((s) => s.attributes['url.path'] === '/healthz')).toEqual([]);
  });

  it('reports outbox delivery failures as log records and the backlog as gauges', async () => {
    const db = openDatabase(':memory:', [{ version: 1, name: 'outbox', up: OUTBOX_TABLE_SQL }]);
    const outbox = new Outbox({
      db,
      client: front.ctx.client,
      routes: { back: { service: 'back', path: '/v1/nowhere' } },
      log: front.ctx.log,
    });
    try {
      outbox.enqueue('thing.happened', { id: 1 });
      await outbox.flush();
      const failure = await waitFor(() =>
        receiver.logs().find((l) => l.eventName === 'outbox.delivery_failed'),
      );
      expect(failure).toMatchObject({
        severityText: 'ERROR',
        attributes: {
          'outbox.destination': 'back',
          'outbox.event': 'thing.happened',
          'outbox.parked': true,
          'error.type': 'refused',
        },
        resource: { 'service.name': 'front' },
      });
      await waitFor(
        () =>
          receiver
            .metrics()
            .filter((m) => m.name === 'chaoscope.outbox.parked' && m.resource['service.name'] === 'front')
            .at(-1)?.points[0]?.value === 1,
      );
    } finally {
      await outbox.stop();
      db.close();
    }
  });

  it('exports request durations under their semantic-convention names', async () => {
    await waitFor(() => {
      const names = new Set(receiver.metrics().map((m) => m.name));
      return names.has('http.server.request.duration') && names.has('http.client.request.duration');
    });
    const server = receiver.metrics().find((m) => m.name === 'http.server.request.duration')!;
    expect(server.unit).toBe('s');
  });
});

describe('kit telemetry when not configured', () => {
  it('starts no SDK and sends nothing without an endpoint, or with OTEL_EXPORTER=none', async () => {
    const silent = await OtlpJsonReceiver.start();
    const plain = await startService(
      { setup: (app) => void app.get('/x', async () => ({})) },
      testEnv('plain'),
    );
    const off = await startService(
      { setup: (app) => void app.get('/x', async () => ({})) },
      testEnv('off', { OTEL_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: silent.url }),
    );
    try {
      for (const service of [plain, off]) {
        expect(service.ctx.telemetry).toBeUndefined();
        expect(service.ctx.client.telemetry).toBeUndefined();
        expect((await fetch(`${service.url}/x`)).status).toBe(200);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(silent.requests).toEqual([]);
    } finally {
      await plain.close();
      await off.close();
      await silent.close();
    }
  });

  it('validates the telemetry variables; empty ones count as unset', () => {
    const config = loadConfig(
      baseConfigSchema,
      testEnv('x', { OTEL_EXPORTER: '', OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_BSP_SCHEDULE_DELAY: '' }),
    );
    expect(config.OTEL_EXPORTER).toBeUndefined();
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(config.OTEL_BSP_SCHEDULE_DELAY).toBeUndefined();
    expect(() => loadConfig(baseConfigSchema, testEnv('x', { OTEL_EXPORTER: 'zipkin' }))).toThrow(
      ConfigError,
    );
    expect(() =>
      loadConfig(baseConfigSchema, testEnv('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })),
    ).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(
      loadConfig(baseConfigSchema, testEnv('x', { OTEL_METRIC_EXPORT_INTERVAL: '2000' }))
        .OTEL_METRIC_EXPORT_INTERVAL,
    ).toBe(2000);
  });
});

/**
 * Forwarding against real receivers: a second instance of our own collector (so what arrives is
 * decoded by the same OTLP and Jaeger code that serves the app) and, where an answer the collector
 * never gives is needed (a plain 400, a partial success), a real HTTP server that gives it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import type { LogRecord, MetricPoint, SpanRecord } from '../model/telemetry.ts';
import { createCollector } from '../collector/collector.ts';
import { encodeExportResponseProto } from '../collector/otlp-protobuf.ts';
import { RecordingSink, eventually } from '../collector/test-support.ts';
import { MS, T0, bulkSpan, span, spanId, traceId } from '../store/fixtures/spans.ts';
import { createForwarder, withForwarding, type Forwarder, type ForwardSettingsInput } from './index.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** Generous: the machine running the tests may be busy with other work. */
const until = (check: () => boolean, what: string) => eventually(check, what, 30_000);

/** Fast retries so tests do not wait on production backoff. */
const FAST_RETRY = { initialBackoffMs: 20, maxBackoffMs: 200 };

async function remote(
  options: { otlpPort?: number; sink?: RecordingSink; maxSpansPerRequest?: number } = {},
) {
  const sink = options.sink ?? new RecordingSink();
  const collector = await createCollector({
    sink,
    otlpPort: options.otlpPort ?? 0,
    jaegerPort: 0,
    ...(options.maxSpansPerRequest ? { limits: { maxSpansPerRequest: options.maxSpansPerRequest } } : {}),
  });
  cleanups.push(() => collector.close());
  return { sink, collector };
}

function forwarder(settings: ForwardSettingsInput): Forwarder {
  const f = createForwarder(settings);
  cleanups.push(() => f.close(500));
  return f;
}

/** A real HTTP server with a scripted answer, recording what it was sent. */
async function scripted(
  answer: (n: number) => { status: number; headers?: Record<string, string>; body?: Uint8Array },
) {
  const hits: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const a = answer(hits.length);
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ? Buffer.from(a.body) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One trace across two services: parent, error status, an event, a link, attributes of each type. */
function sampleSpans(): SpanRecord[] {
  const t = traceId(0xabc);
  return [
    span({
      traceId: t,
      spanId: spanId(1),
      startMs: 0,
      durationMs: 40,
      name: 'GET /api/timeline',
      attributes: { 'http.route': '/api/timeline', 'http.response.status_code': 503, ratio: 0.25, ok: false },
    }),
    span({
      traceId: t,
      spanId: spanId(2),
      parentSpanId: spanId(1),
      startMs: 5,
      durationMs: 30,
      service: 'timeline',
      kind: 'client',
      name: 'GET users',
      statusCode: 'error',
      statusMessage: 'upstream 503',
      attributes: { 'peer.service': 'users' },
      events: [
        { timeUnixNano: T0 + 20n * MS, name: 'breaker.transition', attributes: { 'breaker.to': 'open' } },
      ],
      links: [{ traceId: traceId(0xdef), spanId: spanId(9), attributes: {} }],
    }),
  ];
}

const ids = (spans: readonly SpanRecord[]) => spans.map((s) => s.spanId).sort();
const byId = (spans: readonly SpanRecord[]) => [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));

function essentials(s: SpanRecord) {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    service: s.service,
    instance: s.instance,
    name: s.name,
    kind: s.kind,
    startUnixNano: s.startUnixNano,
    endUnixNano: s.endUnixNano,
    statusCode: s.statusCode,
    statusMessage: s.statusMessage,
    attributes: s.attributes,
    events: s.events,
  };
}

describe('forwarding to an OTLP endpoint', { timeout: 60_000 }, () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    it(`re-exports spans, metric points and log records as OTLP/${encoding} that a real collector reads back`, async () => {
      const { sink, collector } = await remote();
      const f = forwarder({
        targets: [{ kind: 'otlp', endpoint: collector.otlpUrl, encoding, retry: FAST_RETRY }],
      });
      const app = new RecordingSink();
      const forwarding = withForwarding(app, f);
      const spans = sampleSpans();
      const metrics: MetricPoint[] = [
        {
          service: 'gateway',
          instance: 'gateway-1',
          name: 'chaoscope.breaker.state',
          kind: 'gauge',
          unit: null,
          timeUnixNano: T0,
          value: 2,
          histogram: null,
          attributes: { 'breaker.name': 'gateway:timeline' },
        },
        {
          service: 'gateway',
          instance: 'gateway-1',
          name: 'http.server.request.duration',
          kind: 'histogram',
          unit: 's',
          timeUnixNano: T0 + MS,
          value: null,
          histogram: { count: 6, sum: 0.42, bounds: [0.01, 0.1], counts: [1, 3, 2] },
          attributes: { 'http.route': '/api/timeline' },
        },
        {
          service: 'tweets',
          instance: null,
          name: 'chaoscope.outbox.delivered',
          kind: 'sum',
          unit: '{event}',
          timeUnixNano: T0 + 2n * MS,
          value: 17,
          histogram: null,
          attributes: {},
        },
      ];
      const logs: LogRecord[] = [
        {
          service: 'timeline',
          instance: 'timeline-1',
          timeUnixNano: T0 + 3n * MS,
          severityNumber: 13,
          severityText: 'WARN',
          body: 'breaker gateway:timeline: closed → open',
          traceId: spans[0]!.traceId,
          spanId: spans[0]!.spanId,
          attributes: { 'event.name': 'breaker.transition' },
        },
      ];
      await forwarding.appendSpans(spans);
      await forwarding.appendMetrics(metrics);
      await forwarding.appendLogs(logs);

      await until(() => f.stats()[0]!.sent === 6, 'six records sent');
      expect(byId(sink.spans).map(essentials)).toEqual(byId(spans).map(essentials));
      expect(byId(sink.spans)[1]!.links).toEqual([
        { traceId: traceId(0xdef), spanId: spanId(9), attributes: {} },
      ]);
      expect(sink.metrics).toEqual(
        expect.arrayContaining(metrics.map((m) => expect.objectContaining(m) as unknown)),
      );
      expect(sink.metrics).toHaveLength(3);
      expect(sink.logs).toEqual([logs[0]]);
      expect(f.stats()[0]).toMatchObject({
        queued: 0,
        sent: 6,
        dropped: 0,
        rejected: 0,
        retried: 0,
        lastError: null,
      });
      // The app's own store got everything first.
      expect(app.spans).toHaveLength(2);
    });
  }

  it('sends the configured headers and counts a partial success as part rejected', async () => {
    const server = await scripted(() => ({
      status: 200,
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeExportResponseProto('traces', { rejected: 3, errorMessage: '3 spans refused: too old' }),
    }));
    const f = forwarder({
      targets: [
        {
          kind: 'otlp',
          endpoint: server.url,
          headers: { authorization: 'Bearer t0ken', 'x-scope-orgid': 'team-a' },
        },
      ],
    });
    f.forward(
      'traces',
      Array.from({ length: 10 }, (_, i) => bulkSpan(1, i, T0)),
    );
    await until(() => f.stats()[0]!.rejected === 3, 'the partial success counted');
    expect(f.stats()[0]).toMatchObject({ sent: 7, rejected: 3, retried: 0 });
    expect(f.stats()[0]!.lastError?.message).toContain('too old');
    expect(server.hits).toHaveLength(1);
    expect(server.hits[0]!.headers).toMatchObject({
      authorization: 'Bearer t0ken',
      'x-scope-orgid': 'team-a',
      'content-type': 'application/x-protobuf',
    });
  });

  it('waits out a 503 with Retry-After, then delivers everything once the endpoint recovers', async () => {
    const checks: number[] = [];
    class Refusing extends RecordingSink {
      override pressure() {
        checks.push(performance.now());
        return super.pressure();
      }
    }
    const sink = new Refusing();
    sink.refuseChecks = 2; // the collector answers 503 + Retry-After: 1 twice
    sink.retryAfterSeconds = 1;
    const { collector } = await remote({ sink });
    const f = forwarder({ targets: [{ kind: 'otlp', endpoint: collector.otlpUrl, retry: FAST_RETRY }] });
    const spans = Array.from({ length: 50 }, (_, i) => bulkSpan(2, i, T0));
    f.forward('traces', spans);

    await until(() => f.stats()[0]!.sent === 50, 'the spans delivered after the 503s');
    // One request groups spans by resource (service), so compare as sets.
    expect(ids(sink.spans)).toEqual(ids(spans));
    expect(checks).toHaveLength(3);
    // Retry-After is a floor: no attempt came sooner than the second the endpoint asked for.
    expect(checks[1]! - checks[0]!).toBeGreaterThanOrEqual(950);
    expect(checks[2]! - checks[1]!).toBeGreaterThanOrEqual(950);
    expect(f.stats()[0]).toMatchObject({ retried: 100, dropped: 0, rejected: 0, consecutiveFailures: 0 });
    expect(f.stats()[0]!.lastError?.message).toContain('503');
  });

  it('keeps only the newest records while the endpoint is down, counts the rest dropped, and sends them when it is up', async () => {
    const port = await freePort();
    const f = forwarder({
      targets: [{ kind: 'otlp', endpoint: `http://127.0.0.1:${port}`, queueLimit: 1000, retry: FAST_RETRY }],
    });
    const spans = Array.from({ length: 2000 }, (_, i) => bulkSpan(3 + Math.floor(i / 60), i % 60, T0));
    for (let i = 0; i < spans.length; i += 400) f.forward('traces', spans.slice(i, i + 400));

    await until(
      () => f.stats()[0]!.queued === 1000 && f.stats()[0]!.dropped === 1000 && f.stats()[0]!.retried > 0,
      'the queue at its bound with the oldest dropped',
    );
    expect(f.stats()[0]!.lastError?.message).toContain('ECONNREFUSED');

    const { sink } = await remote({ otlpPort: port });
    await until(() => f.stats()[0]!.sent === 1000, 'the queued spans delivered');
    expect(ids(sink.spans)).toEqual(ids(spans.slice(1000)));
    expect(f.stats()[0]).toMatchObject({ queued: 0, sent: 1000, dropped: 1000, rejected: 0 });
  });

  it('does not retry a 400: the batch is counted rejected and the next one goes out', async () => {
    const server = await scripted(() => ({
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"code":3,"message":"bad"}'),
    }));
    const f = forwarder({
      targets: [{ kind: 'otlp', endpoint: server.url, encoding: 'json', retry: FAST_RETRY }],
    });
    f.forward(
      'traces',
      Array.from({ length: 10 }, (_, i) => bulkSpan(100, i, T0)),
    );
    await until(() => f.stats()[0]!.rejected === 10, 'the first batch rejected');
    f.forward(
      'traces',
      Array.from({ length: 5 }, (_, i) => bulkSpan(101, i, T0)),
    );
    await until(() => f.stats()[0]!.rejected === 15, 'the second batch rejected');
    // One request per batch: a retry of the first would have come before the second.
    expect(server.hits).toHaveLength(2);
    expect(f.stats()[0]).toMatchObject({ sent: 0, retried: 0, dropped: 0, queued: 0 });
    expect(f.stats()[0]!.lastError?.message).toMatch(/answered 400.*bad/);
  });

  it('counts a 413 from a real collector (batch over its span limit) as rejected, not retried', async () => {
    const { sink, collector } = await remote({ maxSpansPerRequest: 10 });
    const f = forwarder({
      targets: [{ kind: 'otlp', endpoint: collector.otlpUrl, maxBatch: 20, retry: FAST_RETRY }],
    });
    f.forward(
      'traces',
      Array.from({ length: 20 }, (_, i) => bulkSpan(102, i, T0)),
    );
    await until(() => f.stats()[0]!.rejected === 20, 'the batch rejected');
    expect(sink.spans).toHaveLength(0);
    expect(f.stats()[0]).toMatchObject({ retried: 0, sent: 0 });
    expect(f.stats()[0]!.lastError?.message).toContain('413');
  });
});

describe('forwarding to a Jaeger collector', { timeout: 60_000 }, () => {
  it('sends spans as Thrift batches that the Jaeger receiver decodes to the same spans; metrics and logs are not queued', async () => {
    const { sink, collector } = await remote();
    const f = forwarder({ targets: [{ kind: 'jaeger', endpoint: collector.jaegerUrl, retry: FAST_RETRY }] });
    const spans = sampleSpans();
    f.forward('traces', spans);
    f.forward('logs', [
      {
        service: 'gateway',
        instance: null,
        timeUnixNano: T0,
        severityNumber: 9,
        severityText: null,
        body: 'x',
        traceId: null,
        spanId: null,
        attributes: {},
      },
    ]);
    await until(() => f.stats()[0]!.sent === 2, 'two spans sent');
    const got = byId(sink.spans);
    // Jaeger carries microseconds; the fixtures' times are whole milliseconds.
    expect(got.map(essentials)).toEqual(byId(spans).map(essentials));
    expect(got[0]!.scope).toEqual(spans[0]!.scope);
    expect(got[1]!.links).toEqual([
      { traceId: traceId(0xdef), spanId: spanId(9), attributes: { 'jaeger.ref_type': 'FOLLOWS_FROM' } },
    ]);
    expect(f.stats()[0]).toMatchObject({ queued: 0, sent: 2, dropped: 0, rejected: 0 });
    expect(sink.logs).toHaveLength(0);
  });
});

describe('the forwarding sink and close()', { timeout: 60_000 }, () => {
  it('forwards only what the inner sink acknowledged', async () => {
    const { sink, collector } = await remote();
    const f = forwarder({ targets: [{ kind: 'otlp', endpoint: collector.otlpUrl }] });
    const app = new RecordingSink();
    app.failAppends = 1;
    const forwarding = withForwarding(app, f);
    await expect(forwarding.appendSpans([bulkSpan(200, 0, T0)])).rejects.toThrow();
    await forwarding.appendSpans([bulkSpan(201, 0, T0)]);
    await until(() => f.stats()[0]!.sent === 1, 'the acknowledged span sent');
    expect(sink.spans.map((s) => s.traceId)).toEqual([traceId(201)]);
  });

  it('close() sends everything queued to a live target before it resolves', async () => {
    const { sink, collector } = await remote();
    const f = createForwarder({
      targets: [{ kind: 'otlp', endpoint: collector.otlpUrl, name: 'live', maxBatch: 100 }],
    });
    f.forward(
      'traces',
      Array.from({ length: 500 }, (_, i) => bulkSpan(300 + Math.floor(i / 50), i % 50, T0)),
    );
    // A generous deadline: close() resolves as soon as the queue is empty, not at the deadline.
    const [live] = await f.close(30_000);
    expect(live).toMatchObject({ name: 'live', sent: 500, queued: 0, dropped: 0 });
    expect(sink.spans).toHaveLength(500);
    // Closed: nothing more is taken.
    f.forward('traces', [bulkSpan(400, 0, T0)]);
    expect(f.stats()[0]!.queued).toBe(0);
  });

  it('close() gives up on a dead target at the deadline and counts what was left as dropped', async () => {
    const dead = await freePort();
    const f = createForwarder({
      targets: [
        {
          kind: 'otlp',
          endpoint: `http://127.0.0.1:${dead}`,
          name: 'dead',
          retry: { initialBackoffMs: 50, maxBackoffMs: 100 },
        },
      ],
    });
    f.forward(
      'traces',
      Array.from({ length: 500 }, (_, i) => bulkSpan(500 + Math.floor(i / 50), i % 50, T0)),
    );
    const [gone] = await f.close(300);
    expect(gone).toMatchObject({ name: 'dead', sent: 0, queued: 0, dropped: 500 });
    expect(gone!.lastError?.message).toContain('ECONNREFUSED');
  });
});

describe('forwarding settings', { timeout: 60_000 }, () => {
  it('refuses bad targets with every problem named', () => {
    const attempt = () =>
      createForwarder({
        targets: [
          { kind: 'otlp', endpoint: 'ftp://example.com', queueLimit: 0 },
          {
            kind: 'jaeger',
            endpoint: 'http://jaeger:14268/api/traces',
            headers: { 'x-a': 'one\r\ntwo', 'content-type': 'x' },
          },
        ],
      });
    expect(attempt).toThrow(ZodError);
    try {
      attempt();
    } catch (e) {
      const paths = (e as ZodError).issues.map((i) => i.path.join('.'));
      expect(paths).toEqual(
        expect.arrayContaining([
          'targets.0.endpoint',
          'targets.0.queueLimit',
          'targets.1.headers.x-a',
          'targets.1.headers.content-type',
        ]),
      );
    }
    expect(() =>
      createForwarder({ targets: [{ kind: 'zipkin', endpoint: 'http://z:9411' }] } as never),
    ).toThrow(ZodError);
    expect(() =>
      createForwarder({
        targets: [
          { kind: 'otlp', endpoint: 'http://a:4318' },
          { kind: 'otlp', endpoint: 'http://a:4318' },
        ],
      }),
    ).toThrow(/same name/);
  });

  it('takes a minimal target with documented defaults', async () => {
    const f = createForwarder({ targets: [{ kind: 'otlp', endpoint: 'http://127.0.0.1:1' }] });
    expect(f.stats()).toEqual([
      expect.objectContaining({
        name: 'otlp 127.0.0.1:1',
        kind: 'otlp',
        queued: 0,
        sent: 0,
        lastError: null,
      }),
    ]);
    await f.close(100);
  });
});

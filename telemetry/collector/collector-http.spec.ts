/**
 * The collector's HTTP contract, request by request: OTLP partial success, error bodies in the
 * request's encoding, limits (413, truncation), back-pressure (429/503 with Retry-After), a failing
 * sink, the Jaeger mapping details, and the stats that count all of it.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createCollector, type Collector, type CollectorLimitsInput } from './collector.ts';
import { encodeJaegerBatch } from './jaeger-thrift.ts';
import { decodeExportResponseProto, decodeStatusProto, encodeRequestProto } from './otlp-protobuf.ts';
import { RecordingSink } from './test-support.ts';

let collector: Collector | undefined;
let sink: RecordingSink;

async function start(limits: CollectorLimitsInput = {}): Promise<Collector> {
  sink = new RecordingSink();
  collector = await createCollector({ sink, otlpPort: 0, jaegerPort: 0, limits });
  return collector;
}

afterEach(async () => {
  await collector?.close();
  collector = undefined;
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

const hex = (s: string) => Buffer.from(s, 'hex');
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function protoSpan(over: Record<string, unknown> = {}) {
  return {
    traceId: hex(TRACE),
    spanId: hex(SPAN),
    parentSpanId: hex(PARENT),
    name: 'GET /timeline',
    kind: 2,
    startTimeUnixNano: Number(NOW_NS),
    endTimeUnixNano: Number(NOW_NS + 5_000_000n),
    attributes: [str('http.route', '/timeline')],
    ...over,
  };
}

function protoTraces(spans: unknown[], service = 'timeline') {
  return encodeRequestProto('traces', {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', service)] },
        scopeSpans: [{ scope: { name: 's' }, spans }],
      },
    ],
  });
}

function jsonTraces(spans: unknown[], service = 'timeline') {
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [str('service.name', service)] }, scopeSpans: [{ spans }] }],
  });
}

function jsonSpan(over: Record<string, unknown> = {}) {
  return {
    traceId: TRACE,
    spanId: SPAN,
    name: 'GET /timeline',
    kind: 2,
    startTimeUnixNano: String(NOW_NS),
    endTimeUnixNano: String(NOW_NS + 5_000_000n),
    ...over,
  };
}

describe('OTLP partial success', () => {
  it('stores the valid spans of a protobuf request and reports the invalid ones as rejected', async () => {
    const c = await start();
    const body = protoTraces([
      protoSpan(),
      protoSpan({ traceId: Buffer.alloc(16) }),
      protoSpan({ spanId: hex('0102') }),
      protoSpan({ spanId: hex('eee19b7ec3c1b175'), parentSpanId: hex('00') }),
    ]);
    const res = await post(`${c.otlpUrl}/v1/traces`, body, PROTO);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const answer = decodeExportResponseProto('traces', res.body);
    expect(answer).toEqual({
      partialSuccess: {
        rejectedSpans: 3,
        errorMessage:
          '1 spans refused: invalid trace id; 1 spans refused: invalid span id; 1 spans refused: invalid parent span id',
      },
    });
    expect(sink.spans).toHaveLength(1);
    expect(sink.spans[0]).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: PARENT,
      kind: 'server',
      service: 'timeline',
    });
    expect(c.stats().services['timeline']?.spans).toEqual({ received: 4, stored: 1, refused: 3, dropped: 0 });
  });

  it('answers JSON in JSON: int64 as a string, hex ids in any case, invalid hex refused', async () => {
    const c = await start();
    const body = jsonTraces([
      jsonSpan({ traceId: TRACE.toUpperCase() }),
      jsonSpan({ spanId: 'not-hex-at-all!!' }),
    ]);
    const res = await post(`${c.otlpUrl}/v1/traces`, body, JSON_TYPE);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(res.body.toString())).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: '1 spans refused: invalid span id' },
    });
    expect(sink.spans.map((s) => s.traceId)).toEqual([TRACE]);
    expect(sink.spans[0]!.startUnixNano).toBe(NOW_NS);
  });

  it('answers a full success with an empty response message', async () => {
    const c = await start();
    const proto = await post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO);
    expect(proto.status).toBe(200);
    expect(proto.body.length).toBe(0);
    const json = await post(`${c.otlpUrl}/v1/traces`, jsonTraces([jsonSpan()]), JSON_TYPE);
    expect(JSON.parse(json.body.toString())).toEqual({});
    // An empty request is a success too.
    expect((await post(`${c.otlpUrl}/v1/metrics`, new Uint8Array(0), PROTO)).status).toBe(200);
    expect((await post(`${c.otlpUrl}/v1/logs`, '{}', JSON_TYPE)).status).toBe(200);
  });

  it('keeps protobuf attribute values equal to the field default (false, 0, "", 0.0) and their type', async () => {
    const c = await start();
    const attributes = [
      { key: 'b', value: { boolValue: false } },
      { key: 'i', value: { intValue: 0 } },
      { key: 's', value: { stringValue: '' } },
      { key: 'd', value: { doubleValue: 0 } },
      { key: 'neg', value: { intValue: -5 } },
      { key: 'none', value: {} },
    ];
    expect(
      (await post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan({ attributes })]), PROTO)).status,
    ).toBe(200);
    expect(sink.spans[0]!.attributes).toEqual({ b: false, i: 0, s: '', d: 0, neg: -5, none: null });
  });

  it('maps JSON attribute values: int64 beyond 2^53 exactly, bytes, nested lists and maps, a __proto__ key', async () => {
    const c = await start();
    const attributes = [
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'small', value: { intValue: 42 } },
      { key: 'ratio', value: { doubleValue: 'NaN' } },
      { key: 'raw', value: { bytesValue: Buffer.from('hi').toString('base64') } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } } },
      { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { intValue: '7' } }] } } },
      { key: '__proto__', value: { stringValue: 'just a key' } },
      { key: 'empty', value: {} },
    ];
    const res = await post(`${c.otlpUrl}/v1/traces`, jsonTraces([jsonSpan({ attributes })]), JSON_TYPE);
    expect(res.status).toBe(200);
    const attrs = sink.spans[0]!.attributes;
    expect(attrs['big']).toBe('9007199254740993');
    expect(attrs['small']).toBe(42);
    expect(Number.isNaN(attrs['ratio'])).toBe(true);
    expect(attrs['raw']).toBe('aGk=');
    expect(attrs['list']).toEqual(['a', true]);
    expect(attrs['map']).toEqual({ k: 7 });
    expect(Object.getOwnPropertyDescriptor(attrs, '__proto__')?.value).toBe('just a key');
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(attrs['empty']).toBeNull();
  });
});

describe('bad payloads', () => {
  it('answers 400 with a google.rpc.Status in the request encoding', async () => {
    const c = await start();
    const proto = await post(`${c.otlpUrl}/v1/traces`, Buffer.from([0x0a, 0xff, 0xff, 0x01]), PROTO);
    expect(proto.status).toBe(400);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeStatusProto(proto.body);
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/could not decode the protobuf body/);

    const json = await post(`${c.otlpUrl}/v1/traces`, '{"resourceSpans": [', JSON_TYPE);
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toMatchObject({
      code: 3,
      message: expect.stringMatching(/invalid JSON/),
    });

    const wrongType = await post(
      `${c.otlpUrl}/v1/traces`,
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'sideways' }] }] }] }),
      JSON_TYPE,
    );
    expect(wrongType.status).toBe(400);
    expect((JSON.parse(wrongType.body.toString()) as { message: string }).message).toMatch(
      /\$\.resourceSpans\.0\.scopeSpans\.0\.spans\.0\.kind/,
    );
    expect(sink.appendCalls).toBe(0);
  });

  it('answers 415 for a Content-Type or Content-Encoding it does not read, 404 elsewhere', async () => {
    const c = await start();
    const text = await post(`${c.otlpUrl}/v1/traces`, 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.body.toString())).toMatchObject({
      code: 12,
      message: expect.stringMatching(/application\/x-protobuf/),
    });
    const br = await post(`${c.otlpUrl}/v1/traces`, 'x', { ...PROTO, 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    const thriftOnOtlp = await post(`${c.otlpUrl}/v1/traces`, 'x', {
      'content-type': 'application/x-thrift',
    });
    expect(thriftOnOtlp.status).toBe(415);
    expect((await post(`${c.otlpUrl}/v2/traces`, '{}', JSON_TYPE)).status).toBe(404);
    expect((await fetch(`${c.otlpUrl}/v1/traces`)).status).toBe(404);
    expect((await post(c.jaegerUrl, 'x', JSON_TYPE)).status).toBe(415);
  });
});

describe('limits', () => {
  it('answers 413 for a body over maxBodyBytes, before and after gunzip (a gzip bomb)', async () => {
    const c = await start({ maxBodyBytes: 64 * 1024 });
    const big = await post(`${c.otlpUrl}/v1/traces`, Buffer.alloc(100 * 1024, 1), PROTO);
    expect(big.status).toBe(413);
    expect(decodeStatusProto(big.body).message).toMatch(/larger than 65536 bytes/);

    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await post(`${c.otlpUrl}/v1/traces`, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(decodeStatusProto(res.body).message).toMatch(/once decompressed/);

    const truncated = gzipSync(protoTraces([protoSpan()])).subarray(0, 30);
    const broken = await post(`${c.otlpUrl}/v1/traces`, truncated, { ...PROTO, 'content-encoding': 'gzip' });
    expect(broken.status).toBe(400);
    expect(decodeStatusProto(broken.body).message).toMatch(/invalid gzip body/);
  });

  it('answers 413 for more spans than maxSpansPerRequest and counts them refused for their service', async () => {
    const c = await start({ maxSpansPerRequest: 3 });
    const spans = [1, 2, 3, 4].map((i) => protoSpan({ spanId: hex(`eee19b7ec3c1b17${i}`) }));
    const res = await post(`${c.otlpUrl}/v1/traces`, protoTraces(spans, 'tweets'), PROTO);
    expect(res.status).toBe(413);
    expect(decodeStatusProto(res.body).message).toBe(
      '4 spans in one request; the limit is 3: send smaller batches',
    );
    expect(sink.spans).toHaveLength(0);
    expect(c.stats().services['tweets']?.spans).toEqual({ received: 4, stored: 0, refused: 4, dropped: 0 });
    expect((await post(`${c.otlpUrl}/v1/traces`, protoTraces(spans.slice(0, 3)), PROTO)).status).toBe(200);
  });

  it('truncates long attribute values and drops attributes over the limit, counting both and saying so', async () => {
    const c = await start({ maxAttributeValueLength: 100, maxAttributes: 5 });
    const attributes = [
      str('db.statement', 'x'.repeat(10_000)),
      ...[1, 2, 3, 4, 5, 6, 7].map((i) => str(`a${i}`, 'v')),
    ];
    const res = await post(
      `${c.otlpUrl}/v1/traces`,
      protoTraces([protoSpan({ attributes, name: 'n'.repeat(500) })]),
      PROTO,
    );
    expect(res.status).toBe(200);
    expect(decodeExportResponseProto('traces', res.body)).toEqual({
      partialSuccess: {
        errorMessage:
          '2 attribute values truncated to 100 characters; 3 attributes dropped over the limit of 5',
      },
    });
    const span = sink.spans[0]!;
    expect(span.attributes['db.statement']).toBe('x'.repeat(100));
    expect(span.name).toHaveLength(100);
    expect(Object.keys(span.attributes)).toEqual(['db.statement', 'a1', 'a2', 'a3', 'a4']);
    expect(c.stats()).toMatchObject({ truncatedAttributeValues: 2, droppedAttributes: 3 });
  });
});

describe('back-pressure and a failing sink', () => {
  it('answers 503 with Retry-After while the sink is not accepting, before reading the body', async () => {
    const c = await start();
    sink.refuseChecks = 1;
    sink.retryAfterSeconds = 7;
    const res = await post(`${c.otlpUrl}/v1/traces`, jsonTraces([jsonSpan()]), JSON_TYPE);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(JSON.parse(res.body.toString())).toMatchObject({
      code: 14,
      message: expect.stringMatching(/test sink is full/),
    });
    const jaeger = await post(c.jaegerUrl, 'x', { 'content-type': 'application/x-thrift' });
    expect(jaeger.status).toBe(400); // accepting again: the body is read (and is not Thrift)
    expect(c.stats().throttledRequests).toBe(1);
  });

  it('answers 429 with Retry-After when too many requests are in flight', async () => {
    const c = await start({ maxConcurrentRequests: 1 });
    sink.delayMs = 300;
    const [a, b] = await Promise.all([
      post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO),
      new Promise<Reply>((resolve) =>
        setTimeout(() => resolve(post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO)), 50),
      ),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(429);
    expect(b.headers.get('retry-after')).toBe('1');
    expect(decodeStatusProto(b.body).code).toBe(8);
    expect(c.stats().inFlightRequests).toBe(0);
    expect((await post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO)).status).toBe(200);
  });

  it('answers 503 when the sink fails or times out, and counts the spans dropped', async () => {
    const c = await start({ sinkTimeoutMs: 100 });
    sink.failAppends = 1;
    const failed = await post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(decodeStatusProto(failed.body).message).toMatch(
      /1 spans not stored: the store could not take them/,
    );

    sink.delayMs = 400;
    const slow = await post(`${c.otlpUrl}/v1/traces`, protoTraces([protoSpan()]), PROTO);
    expect(slow.status).toBe(503);
    expect(decodeStatusProto(slow.body).message).toMatch(/did not answer within 100 ms/);
    expect(c.stats().services['timeline']?.spans).toMatchObject({ received: 2, dropped: 2 });
  });
});

describe('metrics and logs in JSON', () => {
  it('maps every metric type and refuses points without a value or a time', async () => {
    const c = await start();
    const t = String(NOW_NS);
    const body = JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [str('service.name', 'gateway')] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'up', gauge: { dataPoints: [{ timeUnixNano: t, asInt: '1' }, { timeUnixNano: t }] } },
                {
                  name: 'requests',
                  unit: '{request}',
                  sum: { dataPoints: [{ timeUnixNano: t, asDouble: 12.5, attributes: [str('route', '/')] }] },
                },
                { name: 'stale', sum: { dataPoints: [{ timeUnixNano: t, flags: 1 }] } },
                {
                  name: 'lat',
                  histogram: {
                    dataPoints: [
                      {
                        timeUnixNano: t,
                        count: '3',
                        sum: 0.6,
                        bucketCounts: ['1', '2', '0'],
                        explicitBounds: [0.1, 1],
                      },
                    ],
                  },
                },
                {
                  name: 'exp',
                  exponentialHistogram: {
                    dataPoints: [
                      {
                        timeUnixNano: t,
                        count: '6',
                        sum: 9,
                        scale: 0,
                        zeroCount: '1',
                        positive: { offset: 0, bucketCounts: ['2', '3'] },
                      },
                    ],
                  },
                },
                { name: 'sum', summary: { dataPoints: [{ timeUnixNano: t, count: '4', sum: 2 }] } },
                { name: 'no-time', gauge: { dataPoints: [{ asDouble: 1 }] } },
              ],
            },
          ],
        },
      ],
    });
    const res = await post(`${c.otlpUrl}/v1/metrics`, body, JSON_TYPE);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({
      partialSuccess: {
        rejectedDataPoints: '2',
        errorMessage:
          '1 data points refused: number data point without a value; 1 data points refused: data point without a timestamp',
      },
    });
    const byName = Object.fromEntries(sink.metrics.map((p) => [p.name, p]));
    expect(byName['up']).toMatchObject({ kind: 'gauge', value: 1, service: 'gateway', timeUnixNano: NOW_NS });
    expect(byName['requests']).toMatchObject({
      kind: 'sum',
      value: 12.5,
      unit: '{request}',
      attributes: { route: '/' },
    });
    expect(byName['stale']).toMatchObject({ kind: 'sum', value: null });
    expect(byName['lat']!.histogram).toEqual({ count: 3, sum: 0.6, bounds: [0.1, 1], counts: [1, 2, 0] });
    // Scale 0: buckets (1,2] and (2,4]; the zero bucket's edge is 0.
    expect(byName['exp']!.histogram).toEqual({ count: 6, sum: 9, bounds: [0, 2], counts: [1, 2, 3] });
    expect(byName['sum']!.histogram).toEqual({ count: 4, sum: 2, bounds: [], counts: [] });
    expect(c.stats().services['gateway']?.dataPoints).toEqual({
      received: 8,
      stored: 6,
      refused: 2,
      dropped: 0,
    });
  });

  it('keeps log records whose trace context is invalid, unlinked', async () => {
    const c = await start();
    const body = JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [str('service.name', 'auth')] },
          scopeLogs: [
            {
              logRecords: [
                {
                  observedTimeUnixNano: String(NOW_NS),
                  severityNumber: 'SEVERITY_NUMBER_ERROR',
                  body: { kvlistValue: { values: [str('user', 'u1')] } },
                  traceId: 'abc',
                  spanId: SPAN,
                },
                {
                  timeUnixNano: String(NOW_NS),
                  body: { stringValue: 'token revoked' },
                  traceId: TRACE,
                  spanId: SPAN,
                },
              ],
            },
          ],
        },
      ],
    });
    const res = await post(`${c.otlpUrl}/v1/logs`, body, JSON_TYPE);
    expect(res.status).toBe(200);
    expect(sink.logs).toEqual([
      {
        service: 'auth',
        instance: null,
        timeUnixNano: NOW_NS,
        severityNumber: 17,
        severityText: null,
        body: '{"user":"u1"}',
        traceId: null,
        spanId: null,
        attributes: {},
      },
      {
        service: 'auth',
        instance: null,
        timeUnixNano: NOW_NS,
        severityNumber: 0,
        severityText: null,
        body: 'token revoked',
        traceId: TRACE,
        spanId: SPAN,
        attributes: {},
      },
    ]);
  });
});

describe('Jaeger Thrift', () => {
  const i64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };
  const tag = (key: string, v: string | boolean | bigint) =>
    typeof v === 'string'
      ? { key, vType: 'STRING', vStr: v }
      : typeof v === 'boolean'
        ? { key, vType: 'BOOL', vBool: v }
        : { key, vType: 'LONG', vLong: i64(v) };
  const span = (over: Record<string, unknown> = {}) => ({
    traceIdLow: i64(2n),
    traceIdHigh: i64(1n),
    spanId: i64(3n),
    parentSpanId: i64(0n),
    operationName: 'HTTP GET',
    flags: 1,
    startTime: i64(1_700_000_000_000_000n),
    duration: i64(1500n),
    ...over,
  });
  const THRIFT = { 'content-type': 'application/x-thrift' };

  it('maps ids, microseconds, CHILD_OF references, the error tag, logs and process tags; answers 202', async () => {
    const c = await start();
    const body = encodeJaegerBatch({
      process: {
        serviceName: 'legacy',
        tags: [tag('hostname', 'box-1'), tag('service.instance.id', 'legacy-7')],
      },
      spans: [
        span({
          references: [{ refType: 'CHILD_OF', traceIdLow: i64(2n), traceIdHigh: i64(1n), spanId: i64(9n) }],
          tags: [
            tag('error', true),
            tag('span.kind', 'client'),
            tag('http.status_code', 503n),
            tag('big', 2n ** 60n),
          ],
          logs: [
            { timestamp: i64(1_700_000_000_000_500n), fields: [tag('event', 'retry'), tag('attempt', 2n)] },
          ],
        }),
        span({ traceIdLow: i64(0n), traceIdHigh: i64(0n) }),
      ],
    });
    const res = await post(c.jaegerUrl, body, THRIFT);
    expect(res.status).toBe(202);
    expect(res.body.length).toBe(0);
    expect(sink.spans).toEqual([
      {
        traceId: '00000000000000010000000000000002',
        spanId: '0000000000000003',
        parentSpanId: '0000000000000009',
        service: 'legacy',
        instance: 'legacy-7',
        name: 'HTTP GET',
        kind: 'client',
        startUnixNano: 1_700_000_000_000_000_000n,
        endUnixNano: 1_700_000_000_001_500_000n,
        statusCode: 'error',
        statusMessage: null,
        attributes: { 'http.status_code': 503, big: String(2n ** 60n) },
        resource: { hostname: 'box-1', 'service.instance.id': 'legacy-7', 'service.name': 'legacy' },
        scope: null,
        events: [{ timeUnixNano: 1_700_000_000_000_500_000n, name: 'retry', attributes: { attempt: 2 } }],
        links: [],
      },
    ]);
    expect(c.stats().services['legacy']?.spans).toEqual({ received: 2, stored: 1, refused: 1, dropped: 0 });
  });

  it('answers 400 in plain text for a body that is not a Thrift Batch', async () => {
    const c = await start();
    const valid = encodeJaegerBatch({ process: { serviceName: 'x' }, spans: [span()] });
    for (const body of [
      Buffer.from('hello'),
      valid.subarray(0, valid.length - 3),
      Buffer.concat([valid, Buffer.from([1, 2])]),
    ]) {
      const res = await post(c.jaegerUrl, body, THRIFT);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.body.toString()).toMatch(/invalid Thrift Batch/);
    }
    expect(
      (await post(c.jaegerUrl, valid, { 'content-type': 'application/vnd.apache.thrift.binary' })).status,
    ).toBe(202);
  });
});

/**
 * Hundreds of malformed, truncated, oversized and hostile payloads on every endpoint: each gets an
 * answer (never a hang), no answer is a 5xx, the process does not crash, and afterwards the
 * collector still takes real exporters' data.
 */
import { SpanKind } from '@opentelemetry/api';
import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from './collector.ts';
import { encodeJaegerBatch } from './jaeger-thrift.ts';
import { encodeRequestProto } from './otlp-protobuf.ts';
import { RecordingSink, eventually } from './test-support.ts';

const MAX_BODY = 1024 * 1024;

let collector: Collector;
let sink: RecordingSink;

beforeAll(async () => {
  sink = new RecordingSink();
  collector = await createCollector({
    sink,
    otlpPort: 0,
    jaegerPort: 0,
    limits: { maxBodyBytes: MAX_BODY, maxAttributeValueLength: 1024 },
  });
});

afterAll(async () => {
  await collector.close();
});

/** Deterministic, so a failure names a payload that can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(4318);
const int = (n: number) => Math.floor(random() * n);
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

type Target = 'traces' | 'metrics' | 'logs' | 'jaeger';

interface Case {
  readonly name: string;
  readonly target: Target;
  readonly body: Uint8Array | string;
  readonly headers: Record<string, string>;
  /** Statuses this payload may get; every case is also checked for "not 5xx". */
  readonly expect: readonly number[];
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };
const THRIFT = { 'content-type': 'application/x-thrift' };
const GZIP = { 'content-encoding': 'gzip' };
const OTLP_TARGETS = ['traces', 'metrics', 'logs'] as const;
const ANY_4XX = [400, 404, 413, 415];
/** Random or mutated bytes can happen to be a valid message (protobuf skips unknown fields). */
const DECODABLE_OR_400 = [200, 202, 400, 413];

const kv = (key: string, value: unknown) => ({ key, value });
const NOW = Date.now() * 1e6;

function validObject(target: (typeof OTLP_TARGETS)[number], ids: 'bytes' | 'hex'): Record<string, unknown> {
  const id = (h: string) => (ids === 'bytes' ? Buffer.from(h, 'hex') : h);
  const resource = { attributes: [kv('service.name', { stringValue: 'fuzz' }), kv('n', { intValue: 5 })] };
  const attributes = [
    kv('a', { stringValue: 'x' }),
    kv('b', { arrayValue: { values: [{ doubleValue: 1.5 }, { boolValue: true }] } }),
  ];
  if (target === 'traces') {
    const span = {
      traceId: id('5b8efff798038103d269b633813fc60c'),
      spanId: id('eee19b7ec3c1b174'),
      name: 'op',
      kind: 2,
      startTimeUnixNano: ids === 'bytes' ? NOW : String(NOW),
      endTimeUnixNano: ids === 'bytes' ? NOW + 1000 : String(NOW + 1000),
      attributes,
      events: [{ timeUnixNano: ids === 'bytes' ? NOW : String(NOW), name: 'e', attributes }],
      status: { code: 2, message: 'boom' },
    };
    return { resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 's' }, spans: [span, span] }] }] };
  }
  const time = ids === 'bytes' ? NOW : String(NOW);
  if (target === 'metrics') {
    return {
      resourceMetrics: [
        {
          resource,
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ timeUnixNano: time, asDouble: 1, attributes }] } },
                {
                  name: 'h',
                  histogram: {
                    dataPoints: [{ timeUnixNano: time, count: 2, bucketCounts: [1, 1], explicitBounds: [1] }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
  }
  return {
    resourceLogs: [
      {
        resource,
        scopeLogs: [{ logRecords: [{ timeUnixNano: time, body: { stringValue: 'hi' }, attributes }] }],
      },
    ],
  };
}

const validProto = (t: (typeof OTLP_TARGETS)[number]) =>
  Buffer.from(encodeRequestProto(t, validObject(t, 'bytes')));
const validJson = (t: (typeof OTLP_TARGETS)[number]) => JSON.stringify(validObject(t, 'hex'));
const i64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const validThrift = () =>
  encodeJaegerBatch({
    process: { serviceName: 'fuzz', tags: [{ key: 'h', vType: 'STRING', vStr: 'x' }] },
    spans: [
      {
        traceIdLow: i64(1),
        traceIdHigh: i64(2),
        spanId: i64(3),
        parentSpanId: i64(0),
        operationName: 'op',
        flags: 1,
        startTime: i64(Date.now() * 1000),
        duration: i64(5),
        tags: [{ key: 'error', vType: 'BOOL', vBool: true }],
        logs: [{ timestamp: i64(Date.now() * 1000), fields: [{ key: 'event', vType: 'STRING', vStr: 'x' }] }],
      },
    ],
  });

/** Protobuf field header + length-delimited payload. */
function ld(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** An attribute value nested `depth` arrays deep, inside a whole trace request. */
function deepProto(depth: number): Buffer {
  // Built outside-in from the lengths, in one copy: concatenating per level would be quadratic.
  const leaf = ld(1, Buffer.from('leaf')); // AnyValue{string_value}
  const headers: Buffer[] = [];
  let length = leaf.length;
  for (let i = 0; i < depth; i += 1) {
    const values = Buffer.concat([varint((1 << 3) | 2), varint(length)]); // ArrayValue{values}
    length += values.length;
    const array = Buffer.concat([varint((5 << 3) | 2), varint(length)]); // AnyValue{array_value}
    length += array.length;
    headers.push(values, array);
  }
  const value = Buffer.concat([...headers.reverse(), leaf]);
  const span = Buffer.concat([
    ld(1, Buffer.alloc(16, 1)),
    ld(2, Buffer.alloc(8, 1)),
    ld(9, Buffer.concat([ld(1, Buffer.from('k')), ld(2, value)])),
  ]);
  return ld(1, ld(2, ld(2, span))); // request{resource_spans{scope_spans{spans}}}
}

function deepJson(depth: number): string {
  return `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}}]}]}]}]}`;
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (
    name: string,
    target: Target,
    body: Uint8Array | string,
    headers: Record<string, string>,
    expected: readonly number[],
  ) => out.push({ name, target, body, headers, expect: expected });

  for (const t of OTLP_TARGETS) {
    const proto = validProto(t);
    const json = validJson(t);
    // Random bytes, as protobuf and as JSON.
    for (let i = 0; i < 25; i += 1)
      add(`${t} random proto #${i}`, t, randomBytes(1 + int(2048)), PROTO, DECODABLE_OR_400);
    for (let i = 0; i < 10; i += 1)
      add(`${t} random json #${i}`, t, randomBytes(1 + int(512)), JSON_TYPE, [400]);
    // Valid messages cut short or with bytes flipped.
    for (let i = 0; i < 25; i += 1)
      add(
        `${t} truncated proto #${i}`,
        t,
        proto.subarray(0, 1 + int(proto.length - 1)),
        PROTO,
        DECODABLE_OR_400,
      );
    for (let i = 0; i < 15; i += 1)
      add(`${t} truncated json #${i}`, t, json.slice(0, 1 + int(json.length - 2)), JSON_TYPE, [400]);
    for (let i = 0; i < 20; i += 1) {
      const flipped = Buffer.from(proto);
      for (let j = 0; j < 1 + int(4); j += 1) flipped[int(flipped.length)] = int(256);
      add(`${t} flipped proto #${i}`, t, flipped, PROTO, DECODABLE_OR_400);
    }
    // Wrong JSON types at every level.
    const wrongs = [
      'null',
      '[]',
      '"x"',
      '42',
      'true',
      '{"resourceSpans":"x","resourceMetrics":1,"resourceLogs":{}}',
    ];
    const key = t === 'traces' ? 'resourceSpans' : t === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
    for (const w of wrongs) add(`${t} json ${w}`, t, w, JSON_TYPE, [400]);
    for (const inner of [
      '[1]',
      '[null]',
      '[{"resource":5}]',
      '[{"resource":{"attributes":[{"key":1}]}}]',
      '[{"resource":{"attributes":[{"key":"k","value":{"intValue":"12abc"}}]}}]',
    ]) {
      add(`${t} json ${key}=${inner}`, t, `{"${key}":${inner}}`, JSON_TYPE, [400]);
    }
    add(
      `${t} json with bad base64 bytes`,
      t,
      `{"${key}":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"@@@"}}]}}]}`,
      JSON_TYPE,
      [400],
    );
    // Oversized, compressed, bombs, unsupported types and codings.
    add(`${t} oversized proto`, t, Buffer.alloc(MAX_BODY + 1, 0x0a), PROTO, [413]);
    add(
      `${t} gzip bomb`,
      t,
      gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }),
      { ...PROTO, ...GZIP },
      [413],
    );
    add(`${t} gzip of garbage`, t, gzipSync(randomBytes(300)), { ...PROTO, ...GZIP }, DECODABLE_OR_400);
    add(`${t} not gzip at all`, t, randomBytes(200), { ...PROTO, ...GZIP }, [400]);
    add(`${t} valid gzip json`, t, gzipSync(json), { ...JSON_TYPE, ...GZIP }, [200]);
    add(`${t} content-encoding zstd`, t, proto, { ...PROTO, 'content-encoding': 'zstd' }, [415]);
    add(`${t} text/plain`, t, json, { 'content-type': 'text/plain' }, [415]);
    add(`${t} no content-type`, t, json, {}, [415]);
    add(`${t} thrift on otlp`, t, validThrift(), THRIFT, [415]);
    add(`${t} json with a charset`, t, json, { 'content-type': 'application/json; charset=utf-8' }, [200]);
    // Hostile protobuf: lengths past the end, endless varints, invalid wire types, groups.
    add(
      `${t} proto length past the end`,
      t,
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
      PROTO,
      [400],
    );
    add(`${t} proto endless varint`, t, Buffer.from([0x08, ...Array<number>(20).fill(0xff)]), PROTO, [400]);
    add(`${t} proto wire type 7`, t, Buffer.from([0x0f, 0x01]), PROTO, [400]);
    add(`${t} proto unterminated group`, t, Buffer.from([0x0b, 0x08, 0x01]), PROTO, [400]);
  }

  // Deep nesting: JSON is refused before it is walked; protobuf either fails to decode or is cut.
  add('traces json nested 10 000 deep', 'traces', deepJson(10_000), JSON_TYPE, [400]);
  add('traces json values nested 19 deep', 'traces', deepJson(19), JSON_TYPE, [200]);
  add(
    'traces raw json arrays 500 000 deep',
    'traces',
    `${'['.repeat(500_000)}${']'.repeat(500_000)}`,
    JSON_TYPE,
    [400],
  );
  // protobufjs, like protoc, stops at 100 nested messages.
  add('traces proto nested 100 000 deep', 'traces', deepProto(100_000), PROTO, [400]);
  add('traces proto nested 60 deep', 'traces', deepProto(60), PROTO, [400]);
  add('traces proto values nested 20 deep', 'traces', deepProto(20), PROTO, [200]);
  // Huge values inside a body under the limit: taken, truncated.
  const huge = { ...validObject('traces', 'hex') };
  add(
    'traces json 900 KB attribute',
    'traces',
    JSON.stringify(huge).replace('"stringValue":"x"', `"stringValue":"${'y'.repeat(900_000)}"`),
    JSON_TYPE,
    [200],
  );
  add(
    'traces proto 900 KB attribute',
    'traces',
    encodeRequestProto('traces', {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.alloc(16, 7),
                  spanId: Buffer.alloc(8, 7),
                  attributes: [
                    kv('big', { stringValue: 'z'.repeat(900_000) }),
                    kv('bytes', { bytesValue: Buffer.alloc(100_000, 1) }),
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
    PROTO,
    [200],
  );
  add('traces proto 100 000 empty attributes', 'traces', deepAttributes(100_000), PROTO, [200]);
  add(
    'traces json ids of every wrong kind',
    'traces',
    JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: '' },
                { traceId: 'zz' },
                { traceId: '0'.repeat(32), spanId: '1'.repeat(16) },
                { traceId: '1'.repeat(32), spanId: '1'.repeat(16), parentSpanId: 'xyz', kind: 99 },
              ],
            },
          ],
        },
      ],
    }),
    JSON_TYPE,
    [200],
  );
  // proto3 strings must be UTF-8; protobufjs refuses the message, as protoc does.
  add(
    'traces invalid utf-8 in strings',
    'traces',
    Buffer.concat([
      ld(
        1,
        ld(
          2,
          ld(
            2,
            Buffer.concat([
              ld(1, Buffer.alloc(16, 3)),
              ld(2, Buffer.alloc(8, 3)),
              ld(5, Buffer.from([0xc3, 0x28, 0xff, 0xfe])),
            ]),
          ),
        ),
      ),
    ]),
    PROTO,
    [400],
  );

  // Jaeger: random, truncated, flipped, hostile list and string sizes, wrong types.
  const thrift = validThrift();
  for (let i = 0; i < 40; i += 1)
    add(`jaeger random #${i}`, 'jaeger', randomBytes(1 + int(2048)), THRIFT, DECODABLE_OR_400);
  for (let i = 0; i < 40; i += 1)
    add(`jaeger truncated #${i}`, 'jaeger', thrift.subarray(0, int(thrift.length - 1)), THRIFT, [400]);
  for (let i = 0; i < 40; i += 1) {
    const flipped = Buffer.from(thrift);
    for (let j = 0; j < 1 + int(4); j += 1) flipped[int(flipped.length)] = int(256);
    add(`jaeger flipped #${i}`, 'jaeger', flipped, THRIFT, DECODABLE_OR_400);
  }
  // Batch{process: Process{serviceName: string of length 2^31-1}}
  add(
    'jaeger string length 2^31-1',
    'jaeger',
    Buffer.from([0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 0x41]),
    THRIFT,
    [400],
  );
  // Batch{process..., spans: list<struct> of 2^31-1 elements, none present}
  const processOnly = encodeJaegerBatch({ process: { serviceName: 'x' }, spans: [] });
  add(
    'jaeger list size 2^31-1',
    'jaeger',
    Buffer.concat([
      processOnly.subarray(0, processOnly.length - 6),
      Buffer.from([0x0c, 0x7f, 0xff, 0xff, 0xff, 0x00]),
    ]),
    THRIFT,
    [400],
  );
  add(
    'jaeger negative list size',
    'jaeger',
    Buffer.concat([
      processOnly.subarray(0, processOnly.length - 6),
      Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff, 0x00]),
    ]),
    THRIFT,
    [400],
  );
  // An unknown struct field (id 99) holding an unknown struct field holding … 100 000 deep.
  add(
    'jaeger unknown field nested 100 000 deep',
    'jaeger',
    Buffer.concat(Array<Buffer>(100_000).fill(Buffer.from([0x0c, 0x00, 0x63]))),
    THRIFT,
    [400],
  );
  add('jaeger empty body', 'jaeger', Buffer.alloc(0), THRIFT, [400]);
  add('jaeger oversized', 'jaeger', Buffer.alloc(MAX_BODY + 10), THRIFT, [413]);
  add('jaeger json', 'jaeger', '{}', JSON_TYPE, [415]);
  add(
    'jaeger gzip bomb',
    'jaeger',
    gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }),
    { ...THRIFT, ...GZIP },
    [413],
  );
  add('jaeger valid gzip', 'jaeger', gzipSync(thrift), { ...THRIFT, ...GZIP }, [202]);
  return out;
}

function deepAttributes(n: number): Buffer {
  const attr = ld(9, Buffer.alloc(0));
  const span = Buffer.concat([
    ld(1, Buffer.alloc(16, 5)),
    ld(2, Buffer.alloc(8, 5)),
    ...Array<Buffer>(n).fill(attr),
  ]);
  return ld(1, ld(2, ld(2, span)));
}

function urlOf(target: Target): string {
  return target === 'jaeger' ? collector.jaegerUrl : `${collector.otlpUrl}/v1/${target}`;
}

async function sendTrace(exporter: SpanExporter): Promise<void> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'after-fuzz' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  provider.getTracer('t').startSpan('still alive', { kind: SpanKind.SERVER }).end();
  await provider.forceFlush();
  await provider.shutdown();
}

describe('fuzzing every endpoint', () => {
  it('answers hundreds of hostile payloads with 4xx (or a clean 200), never 5xx, never hangs, and still takes data after', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(500);
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    // A few at a time, like several exporters at once.
    for (let i = 0; i < all.length; i += 6) {
      await Promise.all(
        all.slice(i, i + 6).map(async (c) => {
          const res = await fetch(urlOf(c.target), {
            method: 'POST',
            body: c.body,
            headers: c.headers,
            signal: AbortSignal.timeout(15_000),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (!c.expect.includes(res.status) || res.status >= 500)
            unexpected.push(`${c.name}: ${res.status}`);
        }),
      );
    }
    expect(unexpected).toEqual([]);
    const refused = [...statuses].filter(([s]) => ANY_4XX.includes(s)).reduce((n, [, k]) => n + k, 0);
    expect(refused).toBeGreaterThanOrEqual(all.length * 0.75);
    for (const [key, endpoint] of Object.entries(collector.stats().endpoints)) {
      for (const status of Object.keys(endpoint.statuses)) expect(Number(status), key).toBeLessThan(500);
    }

    // Still up, still taking real exporters' data on both ports.
    const before = sink.spans.length;
    await sendTrace(new OTLPTraceExporter({ url: `${collector.otlpUrl}/v1/traces` }));
    await sendTrace(new JaegerExporter({ endpoint: collector.jaegerUrl }));
    await eventually(() => sink.spans.length === before + 2, 'spans from both exporters after the fuzzing');
    expect(sink.spans.slice(before).map((s) => s.service)).toEqual(['after-fuzz', 'after-fuzz']);
    expect(collector.stats().inFlightRequests).toBe(0);
  }, 120_000);
});

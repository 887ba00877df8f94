import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Thrift } from 'thriftrw';
import type {
  AttributeValue,
  Attributes,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanRecord,
  StatusCode,
} from '../model/telemetry.ts';
import { setAttribute, type AttributeLimiter } from './attributes.ts';
import type { IngestTally } from './ingest-result.ts';
import { UNKNOWN_SERVICE } from './otlp-resource.ts';
import { bigintToAttribute } from './wire-values.ts';

/**
 * Jaeger's `Batch` (jaeger.thrift, binary protocol) as the Jaeger clients and
 * `@opentelemetry/exporter-jaeger` POST it to a collector's /api/traces. Decoded by thriftrw with the
 * IDL jaeger-client ships, so the struct definitions are the clients' own.
 */
const require = createRequire(import.meta.url);
const IDL_PATH = require.resolve('jaeger-client/dist/src/jaeger-idl/thrift/jaeger.thrift');
const thrift = new Thrift({ source: readFileSync(IDL_PATH, 'ascii'), allowOptionalArguments: true });
const BatchType = thrift.getType('Batch');

/** thriftrw's reading of jaeger.thrift: i64 fields are 8-byte big-endian Buffers, enums their names. */
interface ThriftTag {
  readonly key: string;
  readonly vType: 'STRING' | 'DOUBLE' | 'BOOL' | 'LONG' | 'BINARY';
  readonly vStr: string | null;
  readonly vDouble: number | null;
  readonly vBool: boolean | null;
  readonly vLong: Buffer | null;
  readonly vBinary: Buffer | null;
}

interface ThriftSpanRef {
  readonly refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  readonly traceIdLow: Buffer;
  readonly traceIdHigh: Buffer;
  readonly spanId: Buffer;
}

interface ThriftSpan {
  readonly traceIdLow: Buffer;
  readonly traceIdHigh: Buffer;
  readonly spanId: Buffer;
  readonly parentSpanId: Buffer;
  readonly operationName: string;
  readonly references: readonly ThriftSpanRef[] | null;
  readonly startTime: Buffer;
  readonly duration: Buffer;
  readonly tags: readonly ThriftTag[] | null;
  readonly logs: readonly { readonly timestamp: Buffer; readonly fields: readonly ThriftTag[] }[] | null;
}

export interface JaegerBatch {
  readonly process: {
    readonly serviceName: string | null;
    readonly tags: readonly ThriftTag[] | null;
  } | null;
  readonly spans: readonly ThriftSpan[] | null;
}

export class JaegerDecodeError extends Error {}

export function decodeJaegerBatch(body: Buffer): JaegerBatch {
  const result = BatchType.fromBufferResult(body);
  if (result.err) throw new JaegerDecodeError(`invalid Thrift Batch: ${result.err.message}`);
  return result.value as JaegerBatch;
}

/** A Batch as a Jaeger client would send it (forwarding to a Jaeger collector, tests, benchmarks). */
export function encodeJaegerBatch(batch: unknown): Buffer {
  const result = BatchType.toBufferResult(batch);
  if (result.err) throw result.err;
  return result.value;
}

const ZERO_64 = '0000000000000000';

function hex64(b: Buffer | null | undefined): string {
  return b && b.length === 8 ? b.toString('hex') : ZERO_64;
}

/** Jaeger ids are signed i64 on the wire; only their 8 bytes matter. */
function traceIdOf(high: Buffer | null | undefined, low: Buffer | null | undefined): string | null {
  const id = hex64(high) + hex64(low);
  return id === ZERO_64 + ZERO_64 ? null : id;
}

function micros(b: Buffer | null | undefined): bigint {
  return b && b.length === 8 ? b.readBigInt64BE(0) * 1000n : 0n;
}

function tagValue(tag: ThriftTag, limiter: AttributeLimiter): AttributeValue {
  switch (tag.vType) {
    case 'STRING':
      return limiter.string(tag.vStr ?? '');
    case 'DOUBLE':
      return tag.vDouble ?? 0;
    case 'BOOL':
      return tag.vBool === true;
    case 'LONG':
      return tag.vLong && tag.vLong.length === 8 ? bigintToAttribute(tag.vLong.readBigInt64BE(0)) : 0;
    case 'BINARY':
      return limiter.string(tag.vBinary ? tag.vBinary.toString('base64') : '');
    default:
      return null;
  }
}

function tagsToAttributes(
  tags: readonly ThriftTag[] | null,
  limiter: AttributeLimiter,
  skip?: ReadonlySet<string>,
): Attributes {
  const out: Attributes = {};
  if (!tags) return out;
  let kept = 0;
  for (const tag of tags) {
    if (skip?.has(tag.key)) continue;
    if (kept >= limiter.limits.maxAttributes) {
      limiter.droppedAttributes += 1;
      continue;
    }
    setAttribute(out, limiter.string(tag.key), tagValue(tag, limiter));
    kept += 1;
  }
  return out;
}

/**
 * Tags the OpenTelemetry → Jaeger translation adds for fields Jaeger lacks; they become those
 * fields again instead of attributes.
 */
const TRANSLATION_TAGS = new Set([
  'span.kind',
  'otel.status_code',
  'otel.status_description',
  'error',
  'otel.library.name',
  'otel.library.version',
  'otel.scope.name',
  'otel.scope.version',
]);
const KINDS = new Set<SpanKind>(['internal', 'server', 'client', 'producer', 'consumer']);

function findTag(tags: readonly ThriftTag[] | null, key: string): ThriftTag | undefined {
  return tags?.find((t) => t.key === key);
}

function stringTag(tags: readonly ThriftTag[] | null, key: string): string | null {
  const tag = findTag(tags, key);
  return tag && tag.vType === 'STRING' && tag.vStr ? tag.vStr : null;
}

function statusOf(tags: readonly ThriftTag[] | null): StatusCode {
  const otel = stringTag(tags, 'otel.status_code');
  if (otel === 'ERROR') return 'error';
  const error = findTag(tags, 'error');
  // Jaeger clients set error=true (a bool, sometimes the string "true").
  if (error && (error.vBool === true || error.vStr === 'true')) return 'error';
  if (otel === 'OK') return 'ok';
  return 'unset';
}

export function countJaegerSpans(batch: JaegerBatch): number {
  return batch.spans?.length ?? 0;
}

export function mapJaegerBatch(
  batch: JaegerBatch,
  limiter: AttributeLimiter,
  tally: IngestTally,
): SpanRecord[] {
  const service = batch.process?.serviceName ? limiter.string(batch.process.serviceName) : UNKNOWN_SERVICE;
  const resource = tagsToAttributes(batch.process?.tags ?? null, limiter);
  setAttribute(resource, 'service.name', service);
  const processInstance = resource['service.instance.id'];
  const out: SpanRecord[] = [];
  for (const span of batch.spans ?? []) {
    tally.received(service);
    const traceId = traceIdOf(span.traceIdHigh, span.traceIdLow);
    const spanId = hex64(span.spanId);
    if (!traceId) {
      tally.reject(service, 'invalid trace id');
      continue;
    }
    if (spanId === ZERO_64) {
      tally.reject(service, 'invalid span id');
      continue;
    }
    let parentSpanId: string | null = hex64(span.parentSpanId);
    if (parentSpanId === ZERO_64) parentSpanId = null;
    const links: SpanLink[] = [];
    for (const ref of span.references ?? []) {
      const refTrace = traceIdOf(ref.traceIdHigh, ref.traceIdLow);
      const refSpan = hex64(ref.spanId);
      if (!refTrace || refSpan === ZERO_64) {
        tally.warn('references with an invalid id dropped');
        continue;
      }
      // A CHILD_OF reference in the same trace is the parent when the span has none.
      if (ref.refType === 'CHILD_OF' && parentSpanId === null && refTrace === traceId) {
        parentSpanId = refSpan;
        continue;
      }
      if (ref.refType === 'CHILD_OF' && parentSpanId === refSpan && refTrace === traceId) continue;
      links.push({ traceId: refTrace, spanId: refSpan, attributes: { 'jaeger.ref_type': ref.refType } });
    }
    const kindTag = stringTag(span.tags, 'span.kind') as SpanKind | null;
    const start = micros(span.startTime);
    const scopeName = stringTag(span.tags, 'otel.scope.name') ?? stringTag(span.tags, 'otel.library.name');
    const instance = stringTag(span.tags, 'service.instance.id');
    const statusCode = statusOf(span.tags);
    const statusMessage = stringTag(span.tags, 'otel.status_description');
    out.push({
      traceId,
      spanId,
      parentSpanId,
      service,
      instance: typeof processInstance === 'string' ? processInstance : instance,
      name: limiter.string(span.operationName ?? ''),
      // The OpenTelemetry exporter leaves span.kind out for internal spans.
      kind: kindTag && KINDS.has(kindTag) ? kindTag : 'internal',
      startUnixNano: start,
      endUnixNano: start + micros(span.duration),
      statusCode,
      statusMessage: statusMessage ? limiter.string(statusMessage) : null,
      attributes: tagsToAttributes(span.tags, limiter, TRANSLATION_TAGS),
      resource,
      scope: scopeName
        ? {
            name: limiter.string(scopeName),
            version:
              stringTag(span.tags, 'otel.scope.version') ?? stringTag(span.tags, 'otel.library.version'),
          }
        : null,
      events: (span.logs ?? []).map((log): SpanEvent => {
        const name = stringTag(log.fields, 'event');
        return {
          timeUnixNano: micros(log.timestamp),
          name: limiter.string(name ?? 'log'),
          attributes: tagsToAttributes(log.fields, limiter, name ? EVENT_NAME_TAG : undefined),
        };
      }),
      links,
    });
  }
  return out;
}

const EVENT_NAME_TAG = new Set(['event']);

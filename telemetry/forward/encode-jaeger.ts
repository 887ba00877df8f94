/**
 * Model spans → Jaeger Thrift `Batch` bodies, encoded by thriftrw with the IDL jaeger-client ships
 * (the collector's own codec). The translation is the one `@opentelemetry/exporter-jaeger` applies,
 * so a Jaeger UI shows forwarded spans as it shows spans from an OpenTelemetry service:
 * kind → `span.kind`, error status → `error=true` + `otel.status_code`, scope → `otel.scope.*`,
 * events → logs with an `event` field, links → FOLLOWS_FROM references.
 *
 * A Batch has one Process (service + resource tags), so spans from several services become several
 * bodies, one POST each.
 */
import type { AttributeValue, Attributes, SpanRecord } from '../model/telemetry.ts';
import { encodeJaegerBatch } from '../collector/jaeger-thrift.ts';

interface Tag {
  key: string;
  vType: 'STRING' | 'DOUBLE' | 'BOOL' | 'LONG';
  vStr?: string;
  vDouble?: number;
  vBool?: boolean;
  vLong?: Buffer;
}

function i64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, value));
  return b;
}

/** 16 hex characters → the 8 bytes Jaeger carries as a signed i64. */
const id64 = (hex: string): Buffer => Buffer.from(hex, 'hex');

function tag(key: string, value: AttributeValue): Tag {
  if (typeof value === 'string') return { key, vType: 'STRING', vStr: value };
  if (typeof value === 'boolean') return { key, vType: 'BOOL', vBool: value };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value)
      ? { key, vType: 'LONG', vLong: i64(BigInt(value)) }
      : { key, vType: 'DOUBLE', vDouble: value };
  }
  // Jaeger tags are scalars: arrays, maps and null travel as JSON text, as the exporter does.
  return { key, vType: 'STRING', vStr: JSON.stringify(value) };
}

const tags = (attributes: Attributes): Tag[] => Object.entries(attributes).map(([k, v]) => tag(k, v));

const micros = (nanos: bigint): bigint => nanos / 1000n;

function jaegerSpan(s: SpanRecord) {
  const spanTags = tags(s.attributes);
  if (s.kind !== 'internal' && s.kind !== 'unspecified') spanTags.push(tag('span.kind', s.kind));
  if (s.statusCode !== 'unset')
    spanTags.push(tag('otel.status_code', s.statusCode === 'error' ? 'ERROR' : 'OK'));
  if (s.statusCode === 'error') spanTags.push(tag('error', true));
  if (s.statusMessage) spanTags.push(tag('otel.status_description', s.statusMessage));
  if (s.scope) {
    spanTags.push(tag('otel.scope.name', s.scope.name));
    if (s.scope.version) spanTags.push(tag('otel.scope.version', s.scope.version));
  }
  return {
    traceIdLow: id64(s.traceId.slice(16)),
    traceIdHigh: id64(s.traceId.slice(0, 16)),
    spanId: id64(s.spanId),
    parentSpanId: s.parentSpanId ? id64(s.parentSpanId) : i64(0n),
    operationName: s.name,
    references: s.links.map((l) => ({
      refType: 'FOLLOWS_FROM',
      traceIdLow: id64(l.traceId.slice(16)),
      traceIdHigh: id64(l.traceId.slice(0, 16)),
      spanId: id64(l.spanId),
    })),
    flags: 1, // sampled
    startTime: i64(micros(s.startUnixNano)),
    duration: i64(micros(s.endUnixNano - s.startUnixNano)),
    tags: spanTags,
    logs: s.events.map((e) => ({
      timestamp: i64(micros(e.timeUnixNano)),
      fields: [tag('event', e.name), ...tags(e.attributes)],
    })),
  };
}

export interface JaegerBody {
  readonly body: Buffer;
  /** The spans this body carries (so a failure part way can requeue exactly the rest). */
  readonly spans: readonly SpanRecord[];
}

/** One Thrift Batch per process (service + resource), in the order the spans came. */
export function encodeJaeger(spans: readonly SpanRecord[]): JaegerBody[] {
  const groups = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    const key = `${s.service}\u0000${JSON.stringify(s.resource)}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(s);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const { 'service.name': _name, ...resource } = first.resource;
    return {
      body: encodeJaegerBatch({
        process: { serviceName: first.service, tags: tags(resource) },
        spans: group.map(jaegerSpan),
      }),
      spans: group,
    };
  });
}

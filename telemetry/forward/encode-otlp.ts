/**
 * Model records → OTLP/HTTP export request bodies (protobuf or JSON), for forwarding. The spans'
 * JSON form is the query layer's (the same function that exports a trace as OTLP JSON); protobuf
 * goes through the collector's own .proto files, so what we send is what we would accept.
 *
 * What the model does not keep cannot be forwarded: a metric's temporality and monotonicity (sums
 * and histograms go out as cumulative, non-monotonic), whether a number was an int or a double (as
 * double), and metric and log resources beyond service name and instance.
 */
import type { Attributes, LogRecord, MetricPoint, SpanRecord } from '../model/telemetry.ts';
import {
  REJECTED_FIELD,
  decodeExportResponseProto,
  encodeRequestProto,
  type Signal,
} from '../collector/otlp-protobuf.ts';
import { spansToOtlpJson, toKeyValues, type OtlpKeyValue } from '../query/otlp-json.ts';

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** The instrumentation scope forwarded metrics and logs are filed under (the model keeps none). */
const FORWARD_SCOPE = { name: 'chaoscope-forward' };
const CUMULATIVE = 2;

type Json = Record<string, unknown>;

function resourceOf(service: string, instance: string | null): { attributes: OtlpKeyValue[] } {
  const attributes: Attributes = { 'service.name': service };
  if (instance !== null) attributes['service.instance.id'] = instance;
  return { attributes: toKeyValues(attributes) };
}

/** Groups records by resource (service + instance), keeping their order. */
function byResource<R extends { readonly service: string; readonly instance: string | null }>(
  records: readonly R[],
): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const r of records) {
    const key = `${r.service}\u0000${r.instance ?? ''}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(r);
  }
  return groups;
}

export function metricsToOtlpJson(points: readonly MetricPoint[]): Json {
  return {
    resourceMetrics: [...byResource(points).values()].map((group) => {
      const metrics = new Map<string, Json & { points: Json[] }>();
      for (const p of group) {
        const key = `${p.name}\u0000${p.kind}\u0000${p.unit ?? ''}`;
        let metric = metrics.get(key);
        if (!metric)
          metrics.set(key, (metric = { name: p.name, unit: p.unit ?? '', kind: p.kind, points: [] }));
        const common = { timeUnixNano: p.timeUnixNano.toString(), attributes: toKeyValues(p.attributes) };
        if (p.kind === 'histogram' && p.histogram) {
          const h = p.histogram;
          metric.points.push({
            ...common,
            count: String(h.count),
            ...(h.sum !== null ? { sum: h.sum } : {}),
            bucketCounts: h.counts.map(String),
            explicitBounds: [...h.bounds],
          });
        } else if (p.value !== null) {
          metric.points.push({ ...common, asDouble: p.value });
        } else {
          // A staleness marker: DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK.
          metric.points.push({ ...common, flags: 1 });
        }
      }
      const first = group[0]!;
      return {
        resource: resourceOf(first.service, first.instance),
        scopeMetrics: [
          {
            scope: FORWARD_SCOPE,
            metrics: [...metrics.values()].map(({ name, unit, kind, points: dataPoints }) => {
              const data =
                kind === 'gauge'
                  ? { gauge: { dataPoints } }
                  : kind === 'sum'
                    ? { sum: { dataPoints, aggregationTemporality: CUMULATIVE, isMonotonic: false } }
                    : { histogram: { dataPoints, aggregationTemporality: CUMULATIVE } };
              return { name, unit, ...data };
            }),
          },
        ],
      };
    }),
  };
}

export function logsToOtlpJson(records: readonly LogRecord[]): Json {
  return {
    resourceLogs: [...byResource(records).values()].map((group) => ({
      resource: resourceOf(group[0]!.service, group[0]!.instance),
      scopeLogs: [
        {
          scope: FORWARD_SCOPE,
          logRecords: group.map((r) => ({
            timeUnixNano: r.timeUnixNano.toString(),
            severityNumber: r.severityNumber,
            ...(r.severityText !== null ? { severityText: r.severityText } : {}),
            body: { stringValue: r.body },
            attributes: toKeyValues(r.attributes),
            ...(r.traceId !== null ? { traceId: r.traceId } : {}),
            ...(r.spanId !== null ? { spanId: r.spanId } : {}),
          })),
        },
      ],
    })),
  };
}

/**
 * The JSON form has hex ids (the OTLP/JSON mapping); protobufjs' fromObject reads a string for a
 * bytes field as base64, so ids become bytes first. 64-bit integers stay decimal strings, which
 * fromObject parses exactly (long.js).
 */
const bytes = (hex: unknown) => (typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex);

function withIdBytes<T extends Json>(item: T, keys: readonly string[]): T {
  const out: Json = { ...item };
  for (const k of keys) if (k in out) out[k] = bytes(out[k]);
  return out as T;
}

function tracesForProto(request: Json): Json {
  const resourceSpans = request.resourceSpans as { scopeSpans: { spans: Json[] }[] }[];
  return {
    resourceSpans: resourceSpans.map((rs) => ({
      ...rs,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        ...ss,
        spans: ss.spans.map((s) => ({
          ...withIdBytes(s, ['traceId', 'spanId', 'parentSpanId']),
          links: (s.links as Json[]).map((l) => withIdBytes(l, ['traceId', 'spanId'])),
        })),
      })),
    })),
  };
}

function logsForProto(request: Json): Json {
  const resourceLogs = request.resourceLogs as { scopeLogs: { logRecords: Json[] }[] }[];
  return {
    resourceLogs: resourceLogs.map((rl) => ({
      ...rl,
      scopeLogs: rl.scopeLogs.map((sl) => ({
        ...sl,
        logRecords: sl.logRecords.map((r) => withIdBytes(r, ['traceId', 'spanId'])),
      })),
    })),
  };
}

export type SignalRecords =
  | { readonly signal: 'traces'; readonly records: readonly SpanRecord[] }
  | { readonly signal: 'metrics'; readonly records: readonly MetricPoint[] }
  | { readonly signal: 'logs'; readonly records: readonly LogRecord[] };

/** One export request body for these records. */
export function encodeOtlp(batch: SignalRecords, encoding: OtlpEncoding): Buffer {
  let json: Json;
  switch (batch.signal) {
    case 'traces':
      json = spansToOtlpJson(batch.records) as unknown as Json;
      break;
    case 'metrics':
      json = metricsToOtlpJson(batch.records);
      break;
    case 'logs':
      json = logsToOtlpJson(batch.records);
      break;
  }
  if (encoding === 'json') return Buffer.from(JSON.stringify(json));
  const forProto =
    batch.signal === 'traces' ? tracesForProto(json) : batch.signal === 'logs' ? logsForProto(json) : json;
  return Buffer.from(encodeRequestProto(batch.signal, forProto));
}

/**
 * How many items a 2xx answer says were refused (OTLP partial success), and its message. An answer
 * we cannot read counts as full success: the server said 2xx, and the spec makes the body optional.
 */
export function partialSuccessOf(
  signal: Signal,
  encoding: OtlpEncoding,
  body: Buffer,
): { rejected: number; message: string } {
  if (body.length === 0) return { rejected: 0, message: '' };
  try {
    const decoded =
      encoding === 'protobuf'
        ? decodeExportResponseProto(signal, body)
        : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    const partial = decoded.partialSuccess as Record<string, unknown> | undefined;
    if (!partial) return { rejected: 0, message: '' };
    const rejected = Number(partial[REJECTED_FIELD[signal]] ?? 0);
    const message = typeof partial.errorMessage === 'string' ? partial.errorMessage : '';
    return { rejected: Number.isFinite(rejected) && rejected > 0 ? Math.floor(rejected) : 0, message };
  } catch {
    return { rejected: 0, message: '' };
  }
}

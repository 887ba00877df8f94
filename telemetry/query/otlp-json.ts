import type { AttributeValue, Attributes, SpanKind, SpanRecord, StatusCode } from '../model/telemetry.ts';
import type { TelemetryReader } from '../store/reader.ts';
import { getTraceSpans } from './trace.ts';

/** OTLP/JSON (opentelemetry-proto's JSON mapping): enums as integers, 64-bit integers as strings. */
export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } }
  | Record<string, never>;

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: OtlpKeyValue[] }[];
  status: { code: number; message?: string };
}

export interface OtlpTracesJson {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

const KIND: Record<SpanKind, number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const STATUS: Record<StatusCode, number> = { unset: 0, ok: 1, error: 2 };

/**
 * Numbers come back from JSON without their int/double distinction; integral ones are written
 * as intValue, which is what nearly every integral attribute was.
 */
export function toAnyValue(value: AttributeValue): OtlpAnyValue {
  if (value === null) return {};
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(toAnyValue) } };
  return { kvlistValue: { values: toKeyValues(value) } };
}

export function toKeyValues(attributes: Attributes): OtlpKeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: toAnyValue(value) }));
}

function toOtlpSpan(s: SpanRecord): OtlpSpan {
  const out: OtlpSpan = {
    traceId: s.traceId,
    spanId: s.spanId,
    name: s.name,
    kind: KIND[s.kind],
    startTimeUnixNano: s.startUnixNano.toString(),
    endTimeUnixNano: s.endUnixNano.toString(),
    attributes: toKeyValues(s.attributes),
    events: s.events.map((e) => ({
      timeUnixNano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: toKeyValues(e.attributes),
    })),
    links: s.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      attributes: toKeyValues(l.attributes),
    })),
    status: s.statusMessage
      ? { code: STATUS[s.statusCode], message: s.statusMessage }
      : { code: STATUS[s.statusCode] },
  };
  if (s.parentSpanId !== null) out.parentSpanId = s.parentSpanId;
  return out;
}

/** Spans regrouped by resource, then by instrumentation scope, as an exporter would have sent them. */
export function spansToOtlpJson(spans: readonly SpanRecord[]): OtlpTracesJson {
  const resources = new Map<
    string,
    {
      attributes: Attributes;
      scopes: Map<string, OtlpTracesJson['resourceSpans'][number]['scopeSpans'][number]>;
    }
  >();
  for (const s of spans) {
    // A resource always names its service; the store keeps the name even if the resource lost it.
    const attributes =
      'service.name' in s.resource ? s.resource : { 'service.name': s.service, ...s.resource };
    const resourceKey = JSON.stringify(attributes);
    let resource = resources.get(resourceKey);
    if (!resource) resources.set(resourceKey, (resource = { attributes, scopes: new Map() }));
    const scopeKey = JSON.stringify([s.scope?.name ?? '', s.scope?.version ?? null]);
    let scope = resource.scopes.get(scopeKey);
    if (!scope) {
      const version = s.scope?.version;
      scope = {
        scope: version ? { name: s.scope?.name ?? '', version } : { name: s.scope?.name ?? '' },
        spans: [],
      };
      resource.scopes.set(scopeKey, scope);
    }
    scope.spans.push(toOtlpSpan(s));
  }
  return {
    resourceSpans: [...resources.values()].map((r) => ({
      resource: { attributes: toKeyValues(r.attributes) },
      scopeSpans: [...r.scopes.values()],
    })),
  };
}

/** A stored trace as an OTLP/JSON ExportTraceServiceRequest body; null when no span of it is stored. */
export async function exportTraceAsOtlpJson(
  reader: TelemetryReader,
  traceId: string,
): Promise<OtlpTracesJson | null> {
  const spans = await getTraceSpans(reader, traceId);
  if (spans.length === 0) return null;
  // Re-sent spans are stored twice; export each once, like the trace view shows it.
  const seen = new Set<string>();
  return spansToOtlpJson(spans.filter((s) => !seen.has(s.spanId) && seen.add(s.spanId)));
}

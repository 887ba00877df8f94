import type { SpanEvent, SpanKind, SpanLink, SpanRecord, StatusCode } from '../model/telemetry.ts';
import type { AttributeLimiter } from './attributes.ts';
import type { IngestTally } from './ingest-result.ts';
import { mapResource } from './otlp-resource.ts';
import type { WireSpan, WireTraceRequest } from './otlp-wire.ts';
import { idHex, toNanos } from './wire-values.ts';

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS: readonly StatusCode[] = ['unset', 'ok', 'error'];

export function countSpans(request: WireTraceRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/** OTLP spans → model spans; invalid spans are refused one by one (partial success), not the batch. */
export function mapTraceRequest(
  request: WireTraceRequest,
  limiter: AttributeLimiter,
  tally: IngestTally,
): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = mapResource(rs.resource, limiter);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = ss.scope
        ? {
            name: limiter.string(ss.scope.name ?? ''),
            version: ss.scope.version ? limiter.string(ss.scope.version) : null,
          }
        : null;
      for (const span of ss.spans ?? []) {
        tally.received(resource.service);
        const traceId = idHex(span.traceId, 16);
        const spanId = idHex(span.spanId, 8);
        const parentSpanId = idHex(span.parentSpanId, 8);
        if (!traceId) {
          tally.reject(resource.service, 'invalid trace id');
          continue;
        }
        if (!spanId) {
          tally.reject(resource.service, 'invalid span id');
          continue;
        }
        if (parentSpanId === undefined) {
          tally.reject(resource.service, 'invalid parent span id');
          continue;
        }
        out.push({
          traceId,
          spanId,
          parentSpanId,
          service: resource.service,
          instance: resource.instance,
          name: limiter.string(span.name ?? ''),
          kind: KINDS[span.kind ?? 0] ?? 'unspecified',
          startUnixNano: toNanos(span.startTimeUnixNano),
          endUnixNano: toNanos(span.endTimeUnixNano),
          statusCode: STATUS[span.status?.code ?? 0] ?? 'unset',
          statusMessage: span.status?.message ? limiter.string(span.status.message) : null,
          attributes: limiter.attributes(span.attributes),
          resource: resource.attributes,
          scope,
          events: mapEvents(span, limiter),
          links: mapLinks(span, limiter, tally),
        });
      }
    }
  }
  return out;
}

function mapEvents(span: WireSpan, limiter: AttributeLimiter): SpanEvent[] {
  const events = span.events;
  if (!events || events.length === 0) return [];
  return events.map((e) => ({
    timeUnixNano: toNanos(e.timeUnixNano),
    name: limiter.string(e.name ?? ''),
    attributes: limiter.attributes(e.attributes),
  }));
}

function mapLinks(span: WireSpan, limiter: AttributeLimiter, tally: IngestTally): SpanLink[] {
  const links = span.links;
  if (!links || links.length === 0) return [];
  const out: SpanLink[] = [];
  for (const l of links) {
    const traceId = idHex(l.traceId, 16);
    const spanId = idHex(l.spanId, 8);
    // A link to nowhere carries nothing a query could follow; the span itself is still good.
    if (!traceId || !spanId) {
      tally.warn('links with an invalid id dropped');
      continue;
    }
    out.push({ traceId, spanId, attributes: limiter.attributes(l.attributes) });
  }
  return out;
}

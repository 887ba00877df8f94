import type { LogRecord } from '../model/telemetry.ts';
import { setAttribute, type AttributeLimiter } from './attributes.ts';
import type { IngestTally } from './ingest-result.ts';
import { mapResource } from './otlp-resource.ts';
import type { WireLogsRequest } from './otlp-wire.ts';
import { idHex, toNanos } from './wire-values.ts';

export function countLogRecords(request: WireLogsRequest): number {
  let n = 0;
  for (const rl of request.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

/**
 * OTLP log records → model records. Nothing here is a reason to refuse a record: an invalid trace
 * context only unlinks it (the spec says receivers SHOULD treat it as absent), a structured body is
 * kept as its JSON text.
 */
export function mapLogsRequest(
  request: WireLogsRequest,
  limiter: AttributeLimiter,
  tally: IngestTally,
): LogRecord[] {
  const out: LogRecord[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = mapResource(rl.resource, limiter);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        tally.received(resource.service);
        const attributes = limiter.attributes(r.attributes);
        // The model has no event name: it travels as the semantic-convention attribute.
        if (r.eventName && !('event.name' in attributes))
          setAttribute(attributes, 'event.name', limiter.string(r.eventName));
        const body = limiter.value(r.body, 1);
        const time = toNanos(r.timeUnixNano);
        const traceId = idHex(r.traceId, 16) ?? null;
        out.push({
          service: resource.service,
          instance: resource.instance,
          timeUnixNano: time === 0n ? toNanos(r.observedTimeUnixNano) : time,
          severityNumber: r.severityNumber ?? 0,
          severityText: r.severityText ? limiter.string(r.severityText) : null,
          body: typeof body === 'string' ? body : body === null ? '' : limiter.string(JSON.stringify(body)),
          traceId,
          spanId: traceId ? (idHex(r.spanId, 8) ?? null) : null,
          attributes,
        });
      }
    }
  }
  return out;
}

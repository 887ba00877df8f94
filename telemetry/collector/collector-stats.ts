/**
 * The collector's own telemetry: per service, how many items arrived and what became of them; per
 * endpoint and encoding, how requests were answered. This is what the "a service stopped sending"
 * alarm and the pipeline-health view read.
 */

export type ItemKind = 'spans' | 'dataPoints' | 'logRecords';

/**
 * - received: decoded from a request;
 * - stored: acknowledged by the sink;
 * - refused: turned away with the client told so (invalid item, over a limit): it will not resend;
 * - dropped: decoded but not stored because the sink failed or timed out; the client got a
 *   retryable answer and may send them again.
 */
export interface ItemCounts {
  received: number;
  stored: number;
  refused: number;
  dropped: number;
}

export type ServiceStats = Record<ItemKind, ItemCounts>;

export interface EndpointStats {
  requests: number;
  /** Body bytes as received (compressed, when the client compressed). */
  bytes: number;
  /** Requests with a Content-Encoding (gzip, deflate). */
  compressed: number;
  /** HTTP status → answers. */
  statuses: Record<string, number>;
}

export interface CollectorStats {
  readonly services: Record<string, ServiceStats>;
  /** Key: `<path> <encoding>`, e.g. `/v1/traces protobuf`, `/api/traces thrift`. */
  readonly endpoints: Record<string, EndpointStats>;
  /** Attribute values cut to `maxAttributeValueLength` (or nesting cut at `maxAttributeDepth`). */
  readonly truncatedAttributeValues: number;
  /** Attributes beyond `maxAttributes` left out. */
  readonly droppedAttributes: number;
  /** Requests answered 429/503 because of back-pressure. */
  readonly throttledRequests: number;
  readonly inFlightRequests: number;
}

/** Hostile or buggy clients could invent a service name per request; the table stays bounded. */
const MAX_SERVICES = 1000;
const OTHER_SERVICES = '(other services)';

const zero = (): ItemCounts => ({ received: 0, stored: 0, refused: 0, dropped: 0 });

export class StatsRecorder {
  private readonly services = new Map<string, ServiceStats>();
  private readonly endpoints = new Map<string, EndpointStats>();
  truncatedAttributeValues = 0;
  droppedAttributes = 0;
  throttledRequests = 0;
  inFlightRequests = 0;

  add(service: string, kind: ItemKind, field: keyof ItemCounts, n: number): void {
    if (n === 0) return;
    let s = this.services.get(service);
    if (!s) {
      if (this.services.size >= MAX_SERVICES) return this.add(OTHER_SERVICES, kind, field, n);
      s = { spans: zero(), dataPoints: zero(), logRecords: zero() };
      this.services.set(service, s);
    }
    s[kind][field] += n;
  }

  addAll(byService: ReadonlyMap<string, number>, kind: ItemKind, field: keyof ItemCounts): void {
    for (const [service, n] of byService) this.add(service, kind, field, n);
  }

  request(endpoint: string, encoding: string, status: number, bytes: number, compressed: boolean): void {
    const key = `${endpoint} ${encoding}`;
    let e = this.endpoints.get(key);
    if (!e) {
      e = { requests: 0, bytes: 0, compressed: 0, statuses: {} };
      this.endpoints.set(key, e);
    }
    e.requests += 1;
    e.bytes += bytes;
    if (compressed) e.compressed += 1;
    e.statuses[status] = (e.statuses[status] ?? 0) + 1;
  }

  snapshot(): CollectorStats {
    return structuredClone({
      services: Object.fromEntries(this.services),
      endpoints: Object.fromEntries(this.endpoints),
      truncatedAttributeValues: this.truncatedAttributeValues,
      droppedAttributes: this.droppedAttributes,
      throttledRequests: this.throttledRequests,
      inFlightRequests: this.inFlightRequests,
    });
  }
}

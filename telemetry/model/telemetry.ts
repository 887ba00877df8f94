/**
 * The shapes every part of the telemetry pipeline agrees on: receivers (OTLP, Jaeger) decode into
 * them, the store persists them, queries return them. Times are Unix nanoseconds as bigint so no
 * precision is lost between a client's clock and a query.
 */
export type AttributeValue =
  string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: Attributes;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
}

export interface SpanRecord {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /** 16 lowercase hex characters. */
  readonly spanId: string;
  readonly parentSpanId: string | null;
  /** `service.name` of the resource that produced the span. */
  readonly service: string;
  /** `service.instance.id`, when the resource has one. */
  readonly instance: string | null;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
  readonly statusCode: StatusCode;
  readonly statusMessage: string | null;
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: { readonly name: string; readonly version: string | null } | null;
  readonly events: readonly SpanEvent[];
  readonly links: readonly SpanLink[];
}

export type MetricKind = 'gauge' | 'sum' | 'histogram';

export interface MetricPoint {
  readonly service: string;
  readonly instance: string | null;
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: string | null;
  readonly timeUnixNano: bigint;
  /** gauge and sum points. */
  readonly value: number | null;
  /** histogram points. */
  readonly histogram: {
    readonly count: number;
    readonly sum: number | null;
    readonly bounds: readonly number[];
    readonly counts: readonly number[];
  } | null;
  readonly attributes: Attributes;
}

export interface LogRecord {
  readonly service: string;
  readonly instance: string | null;
  readonly timeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string | null;
  readonly body: string;
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly attributes: Attributes;
}

/** Where receivers put what they decoded. It resolves only once the data is durable. */
export interface TelemetrySink {
  appendSpans(spans: readonly SpanRecord[]): Promise<void>;
  appendMetrics(points: readonly MetricPoint[]): Promise<void>;
  appendLogs(records: readonly LogRecord[]): Promise<void>;
  /** Whether to take more now; receivers answer 429/503 with Retry-After when not. */
  pressure(): { readonly accepting: boolean; readonly retryAfterSeconds: number; readonly reason?: string };
}

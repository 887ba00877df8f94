/**
 * The decoded shape of OTLP export requests, shared by the protobuf decoder (protobufjs message
 * objects) and the JSON decoder (zod output), so one mapping serves both encodings. Only the fields
 * the mapping reads are listed. Everything is optional and nullable because protobufjs leaves
 * defaults on the prototype and JSON senders may omit or null any field.
 *
 * Which member of a oneof was sent is read from presence (`presentCase`): protobufjs sets a field as
 * an own property only when it was on the wire (defaults live on the prototype), and zod adds no
 * key that the JSON did not have. (The .proto files declare the oneofs as plain fields; see
 * proto/README.md.)
 */

/** The first of `cases` present on `message` with a value, or null when none was sent. */
export function presentCase<K extends string>(message: object, cases: readonly K[]): K | null {
  for (const k of cases) {
    if (Object.hasOwn(message, k) && (message as Record<string, unknown>)[k] != null) return k;
  }
  return null;
}

/** protobufjs decodes 64-bit integers to long.js instances. */
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}

export type WireInt64 = LongLike | number | bigint;

/** Bytes from protobuf; from JSON a string (hex for trace and span ids, base64 otherwise). */
export type WireBytes = Uint8Array | string;

type Opt<T> = T | null | undefined;

export type AnyValueCase =
  'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';

export const ANY_VALUE_CASES: readonly AnyValueCase[] = [
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
];

export interface WireAnyValue {
  readonly stringValue?: Opt<string>;
  readonly boolValue?: Opt<boolean>;
  readonly intValue?: Opt<WireInt64>;
  readonly doubleValue?: Opt<number>;
  readonly arrayValue?: Opt<{ readonly values?: Opt<readonly WireAnyValue[]> }>;
  readonly kvlistValue?: Opt<{ readonly values?: Opt<readonly WireKeyValue[]> }>;
  readonly bytesValue?: Opt<WireBytes>;
}

export interface WireKeyValue {
  readonly key?: Opt<string>;
  readonly value?: Opt<WireAnyValue>;
}

export interface WireResource {
  readonly attributes?: Opt<readonly WireKeyValue[]>;
}

export interface WireScope {
  readonly name?: Opt<string>;
  readonly version?: Opt<string>;
}

export interface WireSpanEvent {
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly name?: Opt<string>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
}

export interface WireSpanLink {
  readonly traceId?: Opt<WireBytes>;
  readonly spanId?: Opt<WireBytes>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
}

export interface WireSpan {
  readonly traceId?: Opt<WireBytes>;
  readonly spanId?: Opt<WireBytes>;
  readonly parentSpanId?: Opt<WireBytes>;
  readonly name?: Opt<string>;
  readonly kind?: Opt<number>;
  readonly startTimeUnixNano?: Opt<WireInt64>;
  readonly endTimeUnixNano?: Opt<WireInt64>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly events?: Opt<readonly WireSpanEvent[]>;
  readonly links?: Opt<readonly WireSpanLink[]>;
  readonly status?: Opt<{ readonly code?: Opt<number>; readonly message?: Opt<string> }>;
}

export interface WireTraceRequest {
  readonly resourceSpans?: Opt<
    readonly {
      readonly resource?: Opt<WireResource>;
      readonly scopeSpans?: Opt<
        readonly { readonly scope?: Opt<WireScope>; readonly spans?: Opt<readonly WireSpan[]> }[]
      >;
    }[]
  >;
}

export interface WireNumberPoint {
  readonly asDouble?: Opt<number>;
  readonly asInt?: Opt<WireInt64>;
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly flags?: Opt<number>;
}

export interface WireHistogramPoint {
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly count?: Opt<WireInt64>;
  readonly sum?: Opt<number>;
  readonly bucketCounts?: Opt<readonly WireInt64[]>;
  readonly explicitBounds?: Opt<readonly number[]>;
  readonly flags?: Opt<number>;
}

export interface WireExponentialBuckets {
  readonly offset?: Opt<number>;
  readonly bucketCounts?: Opt<readonly WireInt64[]>;
}

export interface WireExponentialHistogramPoint {
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly count?: Opt<WireInt64>;
  readonly sum?: Opt<number>;
  readonly scale?: Opt<number>;
  readonly zeroCount?: Opt<WireInt64>;
  readonly zeroThreshold?: Opt<number>;
  readonly positive?: Opt<WireExponentialBuckets>;
  readonly negative?: Opt<WireExponentialBuckets>;
  readonly flags?: Opt<number>;
}

export interface WireSummaryPoint {
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly count?: Opt<WireInt64>;
  readonly sum?: Opt<number>;
  readonly flags?: Opt<number>;
}

export type MetricDataCase = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';

export const METRIC_DATA_CASES: readonly MetricDataCase[] = [
  'gauge',
  'sum',
  'histogram',
  'exponentialHistogram',
  'summary',
];

export interface WireMetric {
  readonly name?: Opt<string>;
  readonly unit?: Opt<string>;
  readonly gauge?: Opt<{ readonly dataPoints?: Opt<readonly WireNumberPoint[]> }>;
  readonly sum?: Opt<{ readonly dataPoints?: Opt<readonly WireNumberPoint[]> }>;
  readonly histogram?: Opt<{ readonly dataPoints?: Opt<readonly WireHistogramPoint[]> }>;
  readonly exponentialHistogram?: Opt<{
    readonly dataPoints?: Opt<readonly WireExponentialHistogramPoint[]>;
  }>;
  readonly summary?: Opt<{ readonly dataPoints?: Opt<readonly WireSummaryPoint[]> }>;
}

export interface WireMetricsRequest {
  readonly resourceMetrics?: Opt<
    readonly {
      readonly resource?: Opt<WireResource>;
      readonly scopeMetrics?: Opt<readonly { readonly metrics?: Opt<readonly WireMetric[]> }[]>;
    }[]
  >;
}

export interface WireLogRecord {
  readonly timeUnixNano?: Opt<WireInt64>;
  readonly observedTimeUnixNano?: Opt<WireInt64>;
  readonly severityNumber?: Opt<number>;
  readonly severityText?: Opt<string>;
  readonly body?: Opt<WireAnyValue>;
  readonly attributes?: Opt<readonly WireKeyValue[]>;
  readonly traceId?: Opt<WireBytes>;
  readonly spanId?: Opt<WireBytes>;
  readonly eventName?: Opt<string>;
}

export interface WireLogsRequest {
  readonly resourceLogs?: Opt<
    readonly {
      readonly resource?: Opt<WireResource>;
      readonly scopeLogs?: Opt<readonly { readonly logRecords?: Opt<readonly WireLogRecord[]> }[]>;
    }[]
  >;
}

import type { LogRecord, MetricPoint, SpanRecord, TelemetrySink } from '../model/telemetry.ts';
import { jaegerFailure, jaegerSuccess, otlpFailure, otlpSuccess, type Answer } from './answers.ts';
import type { AttributeLimiter } from './attributes.ts';
import type { ItemKind } from './collector-stats.ts';
import type { Encoding } from './http-body.ts';
import type { IngestTally } from './ingest-result.ts';
import { countJaegerSpans, decodeJaegerBatch, mapJaegerBatch, type JaegerBatch } from './jaeger-thrift.ts';
import type { CollectorLimits } from './limits.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from './otlp-json.ts';
import { countLogRecords, mapLogsRequest } from './otlp-logs.ts';
import { countDataPoints, mapMetricsRequest } from './otlp-metrics.ts';
import {
  decodeLogsRequestProto,
  decodeMetricsRequestProto,
  decodeTraceRequestProto,
  type PartialSuccess,
  type Signal,
} from './otlp-protobuf.ts';
import { countSpans, mapTraceRequest } from './otlp-traces.ts';
import type { WireLogsRequest, WireMetricsRequest, WireTraceRequest } from './otlp-wire.ts';

/**
 * One endpoint: how its bodies decode, how many items they hold, how they map to the model, where
 * they go in the sink and how answers are written. The pipeline in ingest.ts is the same for all.
 */
export interface Receiver<W, R extends { readonly service: string }> {
  readonly path: string;
  readonly itemKind: ItemKind;
  /** Plural noun for messages: "spans", "data points", "log records". */
  readonly unit: string;
  readonly encodings: readonly Encoding[];
  maxItems(limits: CollectorLimits): number;
  decode(body: Buffer, encoding: Encoding): W;
  count(wire: W): number;
  map(wire: W, limiter: AttributeLimiter, tally: IngestTally): R[];
  append(sink: TelemetrySink, records: R[]): Promise<void>;
  success(encoding: Encoding, partial: PartialSuccess | null): Answer;
  failure(encoding: Encoding | null, status: number, message: string, retryAfterSeconds?: number): Answer;
}

const OTLP_ENCODINGS: readonly Encoding[] = ['protobuf', 'json'];

function otlpAnswers(signal: Signal) {
  return {
    success: (encoding: Encoding, partial: PartialSuccess | null) => otlpSuccess(signal, encoding, partial),
    failure: otlpFailure,
  };
}

export const otlpTraces: Receiver<WireTraceRequest, SpanRecord> = {
  path: '/v1/traces',
  itemKind: 'spans',
  unit: 'spans',
  encodings: OTLP_ENCODINGS,
  maxItems: (l) => l.maxSpansPerRequest,
  decode: (body, encoding) =>
    encoding === 'protobuf' ? decodeTraceRequestProto(body) : decodeTraceRequestJson(body),
  count: countSpans,
  map: mapTraceRequest,
  append: (sink, records) => sink.appendSpans(records),
  ...otlpAnswers('traces'),
};

export const otlpMetrics: Receiver<WireMetricsRequest, MetricPoint> = {
  path: '/v1/metrics',
  itemKind: 'dataPoints',
  unit: 'data points',
  encodings: OTLP_ENCODINGS,
  maxItems: (l) => l.maxDataPointsPerRequest,
  decode: (body, encoding) =>
    encoding === 'protobuf' ? decodeMetricsRequestProto(body) : decodeMetricsRequestJson(body),
  count: countDataPoints,
  map: mapMetricsRequest,
  append: (sink, records) => sink.appendMetrics(records),
  ...otlpAnswers('metrics'),
};

export const otlpLogs: Receiver<WireLogsRequest, LogRecord> = {
  path: '/v1/logs',
  itemKind: 'logRecords',
  unit: 'log records',
  encodings: OTLP_ENCODINGS,
  maxItems: (l) => l.maxLogRecordsPerRequest,
  decode: (body, encoding) =>
    encoding === 'protobuf' ? decodeLogsRequestProto(body) : decodeLogsRequestJson(body),
  count: countLogRecords,
  map: mapLogsRequest,
  append: (sink, records) => sink.appendLogs(records),
  ...otlpAnswers('logs'),
};

export const jaegerTraces: Receiver<JaegerBatch, SpanRecord> = {
  path: '/api/traces',
  itemKind: 'spans',
  unit: 'spans',
  encodings: ['thrift'],
  maxItems: (l) => l.maxSpansPerRequest,
  decode: (body) => decodeJaegerBatch(body),
  count: countJaegerSpans,
  map: mapJaegerBatch,
  append: (sink, records) => sink.appendSpans(records),
  success: () => jaegerSuccess(),
  failure: (_encoding, status, message, retryAfterSeconds) =>
    jaegerFailure(status, message, retryAfterSeconds),
};

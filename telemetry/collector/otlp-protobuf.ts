import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { WireLogsRequest, WireMetricsRequest, WireTraceRequest } from './otlp-wire.ts';

/**
 * OTLP/HTTP protobuf bodies, decoded by protobufjs from the .proto files under ./proto (no
 * installed package ships them; see proto/README.md). protobufjs compiles a decoder per message
 * type on first use, which is what makes this path fast.
 */
const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(
    [
      'opentelemetry/proto/collector/trace/v1/trace_service.proto',
      'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
      'google/rpc/status.proto',
    ],
    { keepCase: false },
  );
  root.resolveAll();
  return root;
}

const root = loadRoot();
const type = (name: string) => root.lookupType(name);

const TraceRequest = type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const MetricsRequest = type('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const LogsRequest = type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const TraceResponse = type('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const MetricsResponse = type('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
const LogsResponse = type('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const RpcStatus = type('google.rpc.Status');

// The casts are the decoder boundary: protobufjs types its output as a generic Message, and the
// wire interfaces list exactly the fields of the .proto files above.
export const decodeTraceRequestProto = (body: Uint8Array): WireTraceRequest =>
  TraceRequest.decode(body) as unknown as WireTraceRequest;
export const decodeMetricsRequestProto = (body: Uint8Array): WireMetricsRequest =>
  MetricsRequest.decode(body) as unknown as WireMetricsRequest;
export const decodeLogsRequestProto = (body: Uint8Array): WireLogsRequest =>
  LogsRequest.decode(body) as unknown as WireLogsRequest;

/**
 * A request from a plain object (bytes as Buffers; int64 as numbers, or decimal strings when they
 * exceed 2^53, which long.js parses exactly): forwarding, tests and benchmarks.
 */
export function encodeRequestProto(signal: Signal, request: Record<string, unknown>): Uint8Array {
  const t = signal === 'traces' ? TraceRequest : signal === 'metrics' ? MetricsRequest : LogsRequest;
  return t.encode(t.fromObject(request)).finish();
}

export type Signal = 'traces' | 'metrics' | 'logs';

/** The `rejected_<items>` field of each signal's ExportXPartialSuccess. */
export const REJECTED_FIELD = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
} as const satisfies Record<Signal, string>;

const RESPONSE = { traces: TraceResponse, metrics: MetricsResponse, logs: LogsResponse } as const;

export interface PartialSuccess {
  readonly rejected: number;
  readonly errorMessage: string;
}

/** An empty message when everything was taken, as the spec asks. */
export function encodeExportResponseProto(signal: Signal, partial: PartialSuccess | null): Uint8Array {
  const message = partial
    ? { partialSuccess: { [REJECTED_FIELD[signal]]: partial.rejected, errorMessage: partial.errorMessage } }
    : {};
  return RESPONSE[signal].encode(RESPONSE[signal].fromObject(message)).finish();
}

export function encodeStatusProto(code: number, message: string): Uint8Array {
  return RpcStatus.encode(RpcStatus.fromObject({ code, message })).finish();
}

export function decodeStatusProto(body: Uint8Array): { code: number; message: string } {
  const s = RpcStatus.toObject(RpcStatus.decode(body), { defaults: true }) as {
    code: number;
    message: string;
  };
  return { code: s.code, message: s.message };
}

export function decodeExportResponseProto(signal: Signal, body: Uint8Array): Record<string, unknown> {
  return RESPONSE[signal].toObject(RESPONSE[signal].decode(body), { longs: Number });
}

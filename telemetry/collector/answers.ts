import type { Encoding } from './http-body.ts';
import {
  REJECTED_FIELD,
  encodeExportResponseProto,
  encodeStatusProto,
  type PartialSuccess,
  type Signal,
} from './otlp-protobuf.ts';

/** An HTTP answer, independent of the server that sends it (so the pipeline is testable alone). */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

const CONTENT_TYPE: Record<'protobuf' | 'json', string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** google.rpc.Code for each status we answer (the HTTP ↔ gRPC mapping googleapis documents). */
const RPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  404: 5, // NOT_FOUND
  405: 12, // UNIMPLEMENTED
  413: 3, // INVALID_ARGUMENT: the same request will never fit
  415: 12, // UNIMPLEMENTED
  429: 8, // RESOURCE_EXHAUSTED
  500: 13, // INTERNAL
  503: 14, // UNAVAILABLE
};

function otlpEncoding(encoding: Encoding | null): 'protobuf' | 'json' {
  return encoding === 'protobuf' ? 'protobuf' : 'json';
}

/** Success: Export<Signal>ServiceResponse in the request's encoding, partial success when needed. */
export function otlpSuccess(signal: Signal, encoding: Encoding, partial: PartialSuccess | null): Answer {
  const enc = otlpEncoding(encoding);
  let body: Buffer | string;
  if (enc === 'protobuf') {
    body = Buffer.from(encodeExportResponseProto(signal, partial));
  } else {
    // proto3 JSON writes int64 as a string.
    body = JSON.stringify(
      partial
        ? {
            partialSuccess: {
              [REJECTED_FIELD[signal]]: String(partial.rejected),
              errorMessage: partial.errorMessage,
            },
          }
        : {},
    );
  }
  return { status: 200, headers: { 'content-type': CONTENT_TYPE[enc] }, body };
}

/**
 * Failure: google.rpc.Status in the request's encoding (JSON when the encoding is unknown), with
 * Retry-After on the retryable answers, as the OTLP/HTTP spec asks.
 */
export function otlpFailure(
  encoding: Encoding | null,
  status: number,
  message: string,
  retryAfterSeconds?: number,
): Answer {
  const enc = otlpEncoding(encoding);
  const code = RPC_CODE[status] ?? 2; // UNKNOWN
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE[enc] };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  const body =
    enc === 'protobuf' ? Buffer.from(encodeStatusProto(code, message)) : JSON.stringify({ code, message });
  return { status, headers, body };
}

/** The Jaeger collector answers 202 with no body once a batch is taken. */
export function jaegerSuccess(): Answer {
  return { status: 202, headers: {}, body: '' };
}

export function jaegerFailure(status: number, message: string, retryAfterSeconds?: number): Answer {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return { status, headers, body: `${message}\n` };
}

import {
  context,
  defaultTextMapSetter,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Meter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  METRIC_HTTP_CLIENT_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import { HTTP_DURATION_BUCKETS } from './http-server.ts';
import type { ClientCall, ClientCallInfo } from './types.ts';

/** Still "incubating" in the semantic conventions package, so spelled out here. */
export const ATTR_PEER_SERVICE = 'peer.service';
export const ATTR_BREAKER_NAME = 'breaker.name';
export const ATTR_BREAKER_STATE = 'breaker.state';
export const ATTR_DEGRADED = 'chaoscope.degraded';
export const ATTR_INSTANCE = 'chaoscope.instance';

/**
 * Client spans for calls between services. One span covers the whole call as the caller sees it:
 * the breaker's verdict, discovery, the HTTP exchange and, when the call failed, the fallback. Its
 * context goes out as `traceparent`, so the callee's server span is its child.
 */
export function clientInstrumentation(
  tracer: Tracer,
  meter: Meter,
  propagator: TextMapPropagator,
): (info: ClientCallInfo) => ClientCall {
  const duration = meter.createHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, {
    unit: 's',
    description: 'Duration of HTTP client requests.',
    advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS },
  });

  return (info) => {
    const parent = context.active();
    const span = tracer.startSpan(
      `${info.method} ${info.callee}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: info.method,
          [ATTR_PEER_SERVICE]: info.callee,
          [ATTR_BREAKER_NAME]: info.breaker,
          [ATTR_BREAKER_STATE]: info.breakerState,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    const started = performance.now();
    const metricAttributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: info.method,
      [ATTR_PEER_SERVICE]: info.callee,
    };
    // Only calls that reached an instance count as HTTP requests in the duration histogram.
    let sent = false;
    let ended = false;

    const finish = () => {
      ended = true;
      span.end();
      if (sent) duration.record((performance.now() - started) / 1000, metricAttributes);
    };

    return {
      run: (fn) => context.with(active, fn),
      target(address, instance) {
        sent = true;
        const { host, port } = splitAddress(address);
        span.setAttributes({
          [ATTR_SERVER_ADDRESS]: host,
          [ATTR_URL_FULL]: `http://${address}${info.path}`,
          [ATTR_INSTANCE]: instance,
        });
        metricAttributes[ATTR_SERVER_ADDRESS] = host;
        if (port !== undefined) {
          span.setAttribute(ATTR_SERVER_PORT, port);
          metricAttributes[ATTR_SERVER_PORT] = port;
        }
      },
      inject(headers) {
        propagator.inject(active, headers, defaultTextMapSetter);
      },
      response(status) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        metricAttributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
      },
      end(degradedCause) {
        if (ended) return;
        span.setAttribute(ATTR_DEGRADED, degradedCause !== undefined);
        // A 4xx answer is returned to the caller and does not count against the breaker: not an error.
        if (degradedCause !== undefined) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: degradedCause });
          metricAttributes[ATTR_ERROR_TYPE] = 'degraded';
        }
        finish();
      },
      fail(message, errorType) {
        if (ended) return;
        span.setAttribute(ATTR_DEGRADED, false);
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        metricAttributes[ATTR_ERROR_TYPE] = errorType;
        finish();
      },
    };
  };
}

const addresses = new Map<string, { host: string; port: number | undefined }>();

/** "host:port" or "[v6]:port" → parts (remembered: a cluster has a handful of addresses). */
export function splitAddress(address: string): { host: string; port: number | undefined } {
  let parts = addresses.get(address);
  if (!parts) {
    if (addresses.size > 1_000) addresses.clear();
    parts = parseAddress(address);
    addresses.set(address, parts);
  }
  return parts;
}

function parseAddress(address: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!match) return { host: address, port: undefined };
  return { host: match[1] ?? address, port: Number(match[2]) };
}

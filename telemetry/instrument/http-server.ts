import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
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
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { ServerRequestInfo, ServerRequestSpan } from './types.ts';

/** The HTTP semantic conventions' advised buckets for request durations, in seconds. */
export const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Identifies the kit's callers and requests in span attributes (the store's fixtures use the same). */
export const ATTR_REQUEST_ID = 'chaoscope.request_id';
export const ATTR_CALLER = 'chaoscope.caller';
/** The connection closed while the body was still being sent (a stream the client left, a cut). */
export const ATTR_INCOMPLETE = 'chaoscope.response.incomplete';
const CALLER_HEADER = 'x-chaoscope-caller';

/**
 * Server spans and the request-duration histogram, made explicitly from the service's request
 * hooks: services run as bundles, where instrumentations that patch `require()`d modules never see
 * the HTTP server. The incoming `traceparent` is the parent, so a call chain is one trace.
 */
export function serverInstrumentation(
  tracer: Tracer,
  meter: Meter,
  propagator: TextMapPropagator,
): (info: ServerRequestInfo) => ServerRequestSpan {
  const duration = meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    unit: 's',
    description: 'Duration of HTTP server requests.',
    advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS },
  });

  return (info) => {
    const parent = propagator.extract(ROOT_CONTEXT, info.headers, defaultTextMapGetter);
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: info.method,
      [ATTR_URL_PATH]: info.path,
      [ATTR_URL_SCHEME]: 'http',
      [ATTR_REQUEST_ID]: info.requestId,
    };
    if (info.route !== undefined) attributes[ATTR_HTTP_ROUTE] = info.route;
    const caller = info.headers[CALLER_HEADER];
    if (typeof caller === 'string') attributes[ATTR_CALLER] = caller;
    // Who sent a request that no traced caller made (loadgen, a person): the service graph's source.
    const agent = info.headers['user-agent'];
    if (typeof agent === 'string') attributes[ATTR_USER_AGENT_ORIGINAL] = agent.slice(0, 200);

    const name = info.route !== undefined ? `${info.method} ${info.route}` : info.method;
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    const active = trace.setSpan(parent, span);
    const started = performance.now();
    let detail: string | undefined;
    let ended = false;

    return {
      run: (fn) => context.with(active, fn),
      problem(text) {
        detail = text;
      },
      end(status, complete = true) {
        if (ended) return;
        ended = true;
        const metricAttributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: info.method };
        if (info.route !== undefined) metricAttributes[ATTR_HTTP_ROUTE] = info.route;
        if (status === null) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: detail ?? 'the connection closed before an answer was sent',
          });
          span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
          metricAttributes[ATTR_ERROR_TYPE] = 'aborted';
        } else {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          metricAttributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
          if (!complete) span.setAttribute(ATTR_INCOMPLETE, true);
          // A 4xx is the client's mistake, not the server's: the span stays unset (semantic conventions).
          if (status >= 500) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: detail ?? `answered ${status}` });
            span.setAttribute(ATTR_ERROR_TYPE, String(status));
            metricAttributes[ATTR_ERROR_TYPE] = String(status);
          }
        }
        span.end();
        duration.record((performance.now() - started) / 1000, metricAttributes);
      },
    };
  };
}

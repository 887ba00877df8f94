import { z } from 'zod';
import type {
  WireAnyValue,
  WireKeyValue,
  WireLogsRequest,
  WireMetricsRequest,
  WireTraceRequest,
} from './otlp-wire.ts';

/**
 * OTLP/JSON per the spec's JSON mapping: lowerCamelCase keys, trace and span ids as hex (not the
 * proto3 base64), enums as integers (names accepted too), 64-bit integers as decimal strings
 * (numbers accepted), unknown fields ignored. Only the fields the mapping reads are declared; zod
 * drops the rest. Ids stay strings here and are checked by the mapping, so a bad id refuses one span
 * (partial success), while a wrong type anywhere refuses the request (400).
 */

/** Nesting beyond this is refused before validation walks it (keeps recursion bounded). */
export const MAX_JSON_DEPTH = 128;

const opt = <T extends z.ZodType>(schema: T) => schema.nullish();

const int64 = z.union([
  z
    .string()
    .regex(/^-?\d{1,20}$/, 'expected a decimal integer string')
    .transform((s) => BigInt(s)),
  z.number().transform((n) => BigInt(Math.trunc(n))),
]);

const uint32 = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d{1,10}$/)
    .transform(Number),
]);

/** proto3 JSON doubles: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string. */
const double = z.union([
  z.number(),
  z
    .string()
    .regex(/^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/, 'expected a number')
    .transform(Number),
]);

function enumOf(names: readonly string[]) {
  return z.union([
    z.number().int(),
    z.string().transform((s, ctx) => {
      const i = names.indexOf(s);
      if (i >= 0) return i;
      ctx.addIssue({ code: 'custom', message: `unknown enum value ${JSON.stringify(s)}` });
      return z.NEVER;
    }),
  ]);
}

const spanKind = enumOf([
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
]);
const statusCode = enumOf(['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR']);
const severityNumber = enumOf([
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']
    .flatMap((s) => [s, `${s}2`, `${s}3`, `${s}4`])
    .map((s) => `SEVERITY_NUMBER_${s}`),
]);

const anyValue: z.ZodType<WireAnyValue, unknown> = z.lazy(() =>
  z.object({
    stringValue: opt(z.string()),
    boolValue: opt(z.boolean()),
    intValue: opt(int64),
    doubleValue: opt(double),
    arrayValue: opt(z.object({ values: opt(z.array(anyValue)) })),
    kvlistValue: opt(z.object({ values: opt(z.array(keyValue)) })),
    bytesValue: opt(z.base64()),
  }),
);

const keyValue: z.ZodType<WireKeyValue, unknown> = z.lazy(() =>
  z.object({ key: opt(z.string()), value: opt(anyValue) }),
);

const attributes = opt(z.array(keyValue));
const resource = opt(z.object({ attributes }));

const span = z.object({
  traceId: opt(z.string()),
  spanId: opt(z.string()),
  parentSpanId: opt(z.string()),
  name: opt(z.string()),
  kind: opt(spanKind),
  startTimeUnixNano: opt(int64),
  endTimeUnixNano: opt(int64),
  attributes,
  events: opt(z.array(z.object({ timeUnixNano: opt(int64), name: opt(z.string()), attributes }))),
  links: opt(z.array(z.object({ traceId: opt(z.string()), spanId: opt(z.string()), attributes }))),
  status: opt(z.object({ code: opt(statusCode), message: opt(z.string()) })),
});

const traceRequest = z.object({
  resourceSpans: opt(
    z.array(
      z.object({
        resource,
        scopeSpans: opt(
          z.array(
            z.object({
              scope: opt(z.object({ name: opt(z.string()), version: opt(z.string()) })),
              spans: opt(z.array(span)),
            }),
          ),
        ),
      }),
    ),
  ),
});

const numberPoint = z.object({
  asDouble: opt(double),
  asInt: opt(int64),
  timeUnixNano: opt(int64),
  attributes,
  flags: opt(uint32),
});

const histogramPoint = z.object({
  timeUnixNano: opt(int64),
  attributes,
  count: opt(int64),
  sum: opt(double),
  bucketCounts: opt(z.array(int64)),
  explicitBounds: opt(z.array(double)),
  flags: opt(uint32),
});

const buckets = opt(z.object({ offset: opt(z.number().int()), bucketCounts: opt(z.array(int64)) }));

const exponentialHistogramPoint = z.object({
  timeUnixNano: opt(int64),
  attributes,
  count: opt(int64),
  sum: opt(double),
  scale: opt(z.number().int()),
  zeroCount: opt(int64),
  zeroThreshold: opt(double),
  positive: buckets,
  negative: buckets,
  flags: opt(uint32),
});

const summaryPoint = z.object({
  timeUnixNano: opt(int64),
  attributes,
  count: opt(int64),
  sum: opt(double),
  flags: opt(uint32),
});

const metric = z.object({
  name: opt(z.string()),
  unit: opt(z.string()),
  gauge: opt(z.object({ dataPoints: opt(z.array(numberPoint)) })),
  sum: opt(z.object({ dataPoints: opt(z.array(numberPoint)) })),
  histogram: opt(z.object({ dataPoints: opt(z.array(histogramPoint)) })),
  exponentialHistogram: opt(z.object({ dataPoints: opt(z.array(exponentialHistogramPoint)) })),
  summary: opt(z.object({ dataPoints: opt(z.array(summaryPoint)) })),
});

const metricsRequest = z.object({
  resourceMetrics: opt(
    z.array(z.object({ resource, scopeMetrics: opt(z.array(z.object({ metrics: opt(z.array(metric)) }))) })),
  ),
});

const logRecord = z.object({
  timeUnixNano: opt(int64),
  observedTimeUnixNano: opt(int64),
  severityNumber: opt(severityNumber),
  severityText: opt(z.string()),
  body: opt(anyValue),
  attributes,
  traceId: opt(z.string()),
  spanId: opt(z.string()),
  eventName: opt(z.string()),
});

const logsRequest = z.object({
  resourceLogs: opt(
    z.array(
      z.object({ resource, scopeLogs: opt(z.array(z.object({ logRecords: opt(z.array(logRecord)) }))) }),
    ),
  ),
});

/** Why a JSON body was refused as a whole: the first problems, each with its path. */
export class OtlpJsonError extends Error {}

function parseJson<T>(schema: z.ZodType<T, unknown>, body: Uint8Array): T {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  // An empty body is an empty request, as for protobuf.
  if (text.trim() === '') return schema.parse({});
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new OtlpJsonError(`invalid JSON: ${(e as Error).message}`);
  }
  if (exceedsDepth(value, MAX_JSON_DEPTH))
    throw new OtlpJsonError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 3)
    .map((i) => `${['$', ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new OtlpJsonError(problems.join('; '));
}

/** Iterative, so a hostile nesting cannot overflow the stack before it is measured. */
export function exceedsDepth(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

export const decodeTraceRequestJson = (body: Uint8Array): WireTraceRequest => parseJson(traceRequest, body);
export const decodeMetricsRequestJson = (body: Uint8Array): WireMetricsRequest =>
  parseJson(metricsRequest, body);
export const decodeLogsRequestJson = (body: Uint8Array): WireLogsRequest => parseJson(logsRequest, body);

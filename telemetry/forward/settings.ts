import { z } from 'zod';

/**
 * Where forwarded telemetry goes. Validated here because the settings come from the user (the
 * app's settings page, a settings file): a bad target is refused with every problem listed, never
 * started half-configured.
 */

/** RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the forwarder sets itself: a user value would corrupt the request. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'host',
  'connection',
]);

const headersSchema = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, "a header name is a token (letters, digits, !#$%&'*+-.^_`|~)")
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'the forwarder sets this header itself'),
    // CR or LF in a value would split the request (header injection).
    z
      .string()
      .max(8192)
      .regex(/^[^\r\n\0]*$/, 'a header value may not contain CR, LF or NUL'),
  )
  .default({});

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' });

const retrySchema = z
  .object({
    /** First wait after a failed attempt; doubled on each failure in a row, with jitter. */
    initialBackoffMs: z.number().int().min(1).max(60_000).default(500),
    maxBackoffMs: z.number().int().min(1).max(600_000).default(30_000),
    /** A Retry-After longer than this is cut to it (a typo on the server must not park us for a day). */
    maxRetryAfterMs: z.number().int().min(1).max(3_600_000).default(300_000),
  })
  .refine((r) => r.maxBackoffMs >= r.initialBackoffMs, {
    message: 'maxBackoffMs must be at least initialBackoffMs',
    path: ['maxBackoffMs'],
  })
  .default({ initialBackoffMs: 500, maxBackoffMs: 30_000, maxRetryAfterMs: 300_000 });

const common = {
  /** How the target is named in stats and messages; defaults to the endpoint's host. */
  name: z.string().min(1).max(100).optional(),
  headers: headersSchema,
  /** Records (spans + data points + log records) waiting to be sent; past it the oldest are dropped. */
  queueLimit: z.number().int().min(1).max(10_000_000).default(100_000),
  /** One request, from sending to the whole answer read. */
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** Records per request (the OpenTelemetry SDK's batch size is 512). */
  maxBatch: z.number().int().min(1).max(10_000).default(512),
  retry: retrySchema,
};

export const otlpTargetSchema = z.object({
  kind: z.literal('otlp'),
  /** OTLP/HTTP base URL (what OTEL_EXPORTER_OTLP_ENDPOINT takes); /v1/traces, /v1/metrics, /v1/logs are appended. */
  endpoint: httpUrl,
  encoding: z.enum(['protobuf', 'json']).default('protobuf'),
  signals: z
    .object({
      traces: z.boolean().default(true),
      metrics: z.boolean().default(true),
      logs: z.boolean().default(true),
    })
    .default({ traces: true, metrics: true, logs: true }),
  ...common,
});

export const jaegerTargetSchema = z.object({
  kind: z.literal('jaeger'),
  /** The Jaeger collector's Thrift-over-HTTP URL, e.g. http://jaeger:14268/api/traces. Spans only. */
  endpoint: httpUrl,
  ...common,
});

export const forwardTargetSchema = z.discriminatedUnion('kind', [otlpTargetSchema, jaegerTargetSchema]);

export const forwardSettingsSchema = z
  .object({ targets: z.array(forwardTargetSchema).max(16).default([]) })
  .refine((s) => new Set(s.targets.map(targetName)).size === s.targets.length, {
    message: 'two targets have the same name; give each a distinct name',
    path: ['targets'],
  });

export type ForwardTargetInput = z.input<typeof forwardTargetSchema>;
export type ForwardTarget = z.output<typeof forwardTargetSchema>;
export type OtlpForwardTarget = z.output<typeof otlpTargetSchema>;
export type JaegerForwardTarget = z.output<typeof jaegerTargetSchema>;
export type ForwardSettingsInput = z.input<typeof forwardSettingsSchema>;
export type ForwardSettings = z.output<typeof forwardSettingsSchema>;

export function targetName(target: {
  readonly name?: string | undefined;
  readonly kind: string;
  readonly endpoint: string;
}): string {
  return target.name ?? `${target.kind} ${new URL(target.endpoint).host}`;
}

import { z } from 'zod';

const MiB = 1024 * 1024;

/**
 * What one request may cost the collector. Every limit answers before memory runs short: bodies
 * are capped before and after gunzip, items per request are capped before they are mapped, and
 * attribute values are cut to size (and counted) rather than refused, because a long SQL statement
 * in `db.statement` should not lose the whole span.
 */
export const collectorLimitsSchema = z.object({
  /** Body size on the wire and again after decompression (a gzip bomb stops here). */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(8 * MiB),
  /** More spans than this in one request: 413, nothing stored. */
  maxSpansPerRequest: z.number().int().positive().default(20_000),
  maxDataPointsPerRequest: z.number().int().positive().default(50_000),
  maxLogRecordsPerRequest: z.number().int().positive().default(20_000),
  /** Longer string (and bytes) values are truncated to this many characters and counted. */
  maxAttributeValueLength: z.number().int().positive().default(4096),
  /** Per span, event, link, resource, data point and log record; the rest are dropped and counted. */
  maxAttributes: z.number().int().positive().default(128),
  /** Nesting of array / key-value-list attribute values kept; deeper values become null. */
  maxAttributeDepth: z.number().int().positive().default(8),
  /** Requests being read, decoded or written at once; more get 429 with Retry-After. */
  maxConcurrentRequests: z.number().int().positive().default(16),
  /** A sink that takes longer than this gets the request answered 503 (the client retries). */
  sinkTimeoutMs: z.number().int().positive().default(10_000),
});

export type CollectorLimits = z.output<typeof collectorLimitsSchema>;
export type CollectorLimitsInput = z.input<typeof collectorLimitsSchema>;

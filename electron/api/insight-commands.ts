/**
 * The insight part of the contract: commands and event topics, spread into COMMANDS and EVENTS.
 *
 * - `traces.outline` / `traces.span`: a big trace in two steps. The outline is the tree's shape
 *   and timings, packed into columns (a 50,000-span trace is ~3 MB instead of the ~23 MB of
 *   `traces.get`); one span's attributes, resource, events and links come when it is opened.
 * - `traces.find`: search one trace where its attributes are (the outline has none).
 * - `registry.list` / `registry.deregister`: the service registry's own view (heartbeats, TTLs),
 *   beside what the runtime knows.
 */
import { z } from 'zod';
import { serviceNameSchema, spanIdSchema, spanKindSchema, spanSchema, traceIdSchema } from './schemas.ts';

/** Span kinds and statuses by the small integers the outline columns carry. */
export const OUTLINE_KINDS = spanKindSchema.options;
export const OUTLINE_STATUSES = ['unset', 'ok', 'error'] as const;

const int = z.number().int();

/**
 * A column of integers in [min, max], checked in one plain loop. A zod schema per element costs
 * 50,000 checks per column at 50,000 spans, on both sides of the wire (about 0.2-0.6 s a trace on
 * the shared machine); this is the same check for a few hundredths of that.
 */
function intColumn(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.custom<number[]>(
    (v) => {
      if (!Array.isArray(v)) return false;
      for (const x of v as unknown[])
        if (!Number.isInteger(x) || (x as number) < min || (x as number) > max) return false;
      return true;
    },
    { message: `expected an array of integers in [${min}, ${max}]` },
  );
}
/** A column of finite numbers, checked the same way. */
const numberColumn = z.custom<number[]>(
  (v) => {
    if (!Array.isArray(v)) return false;
    for (const x of v as unknown[]) if (typeof x !== 'number' || !Number.isFinite(x)) return false;
    return true;
  },
  { message: 'expected an array of finite numbers' },
);

/**
 * One trace's outline. Spans come in waterfall order (depth first, children by display start);
 * `columns` holds one entry per span in that order (index i is the i-th span). Times are ms
 * relative to `start` (the earliest raw span start), to microseconds. Every column has
 * `spanCount` entries (checked).
 */
export const traceOutlineSchema = z
  .object({
    traceId: z.string(),
    /** Unix ms. */
    start: z.number(),
    duration: z.number(),
    spanCount: int.min(0),
    services: z.array(z.string()),
    errorCount: int,
    orphanCount: int,
    skewAdjustedCount: int,
    duplicateCount: int,
    columns: z.object({
      /** The span ids, 16 hex characters each, concatenated. */
      spanIds: z.string().regex(/^[0-9a-f]*$/),
      /** Index of the parent span in this order; -1 for a root or an orphan. */
      parent: intColumn(-1),
      depth: intColumn(0),
      /** Index into `services`. */
      service: intColumn(0),
      /** Index into `dictionary.instances`; -1 when the span names none. */
      instance: intColumn(-1),
      /** Index into `dictionary.names`. */
      name: intColumn(0),
      /** Index into OUTLINE_KINDS. */
      kind: intColumn(0, OUTLINE_KINDS.length - 1),
      /** Index into OUTLINE_STATUSES. */
      status: intColumn(0, OUTLINE_STATUSES.length - 1),
      /** Raw start, ms after `start`. */
      start: numberColumn,
      duration: numberColumn,
      /** Display shift for clock skew, ms (0 when not adjusted). */
      skew: numberColumn,
    }),
    dictionary: z.object({ names: z.array(z.string()), instances: z.array(z.string()) }),
    /** Spans whose parent is not in the tree (never received, evicted, or a cut parent cycle). */
    orphans: z.array(z.object({ index: int.min(0), parentId: z.string() })),
    statusMessages: z.array(z.object({ index: int.min(0), message: z.string() })),
    /** Event times and names (no attributes), for the ticks on the bars; time is ms after `start`. */
    events: z.array(z.object({ index: int.min(0), time: z.number(), name: z.string() })),
    /** Links per span, where there are any (the links themselves come with the span). */
    linkCounts: z.array(z.object({ index: int.min(0), count: int.min(1) })),
  })
  .refine(
    (o) =>
      o.columns.spanIds.length === o.spanCount * 16 &&
      [
        o.columns.parent,
        o.columns.depth,
        o.columns.service,
        o.columns.instance,
        o.columns.name,
        o.columns.kind,
        o.columns.status,
        o.columns.start,
        o.columns.duration,
        o.columns.skew,
      ].every((c) => c.length === o.spanCount),
    { message: 'every outline column has one entry per span' },
  );
export type TraceOutline = z.infer<typeof traceOutlineSchema>;

/** A whole span as traces.get sends it, without the position fields only the tree knows. */
export const fullSpanSchema = spanSchema.omit({ depth: true, orphan: true, skew: true });
export type FullSpan = z.infer<typeof fullSpanSchema>;

const instanceIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'an instance id is letters, digits and . _ : -');

/**
 * How an instance looks from both sides. `alive`: heartbeat within half its TTL, and the runtime
 * runs it; `late`: heartbeat overdue by more than half the TTL (evicted when the TTL runs out);
 * `stale`: the registry still lists it but the runtime does not run it (killed without
 * deregistering, waiting for its TTL); `unregistered`: the runtime runs it, the registry has no
 * entry (it was deregistered, and comes back at its next heartbeat if it is alive).
 */
export const registryStatusSchema = z.enum(['alive', 'late', 'stale', 'unregistered']);
export type RegistryStatus = z.infer<typeof registryStatusSchema>;

export const registryInstanceSchema = z.object({
  service: z.string(),
  instanceId: z.string(),
  /** host:port as registered (or as the runtime knows it for `unregistered`). */
  address: z.string(),
  /** ISO 8601; null for `unregistered`. */
  registeredAt: z.string().nullable(),
  lastHeartbeat: z.string().nullable(),
  /** ms since the last heartbeat, when the list was made; null for `unregistered`. */
  ageMs: z.number().nullable(),
  ttlSeconds: z.number().nullable(),
  meta: z.record(z.string(), z.string()),
  status: registryStatusSchema,
  /** The runtime's state of this instance (running, exited, …), null when it knows none. */
  runtimeState: z.string().nullable(),
});
export type RegistryInstance = z.infer<typeof registryInstanceSchema>;

export const registryListSchema = z.object({
  /** The registry instance asked, and when (ISO 8601). */
  registry: z.string(),
  at: z.string(),
  runtime: z.string(),
  services: z.array(z.object({ service: z.string(), instances: z.array(registryInstanceSchema) })),
});
export type RegistryList = z.infer<typeof registryListSchema>;

export const INSIGHT_COMMANDS = {
  /** The trace's outline (no attributes, events or links); NOT_FOUND when no span is stored. */
  'traces.outline': { input: z.object({ traceId: traceIdSchema }).strict(), output: traceOutlineSchema },
  /** One span whole; NOT_FOUND when it is not stored. */
  'traces.span': {
    input: z
      .object({
        traceId: traceIdSchema,
        spanId: z
          .string()
          .regex(/^[0-9a-fA-F]{16}$/, 'a span id is 16 hex characters')
          .transform((s) => s.toLowerCase())
          .pipe(spanIdSchema),
      })
      .strict(),
    output: fullSpanSchema,
  },
  /**
   * Spans of one trace matching a text, attribute values included (`key=value` for one key):
   * what each matched on (`name`, `service`, `attributes.<key>`…). Up to 10,000 matches, by span
   * id; `truncated` when there were more. NOT_FOUND when no span of the trace is stored.
   */
  'traces.find': {
    input: z.object({ traceId: traceIdSchema, text: z.string().trim().min(1).max(500) }).strict(),
    output: z.object({
      traceId: z.string(),
      text: z.string(),
      matches: z.array(z.object({ spanId: z.string(), fields: z.array(z.string()) })),
      truncated: z.boolean(),
    }),
  },
  /** Every registered instance per service, from the registry's own API, beside the runtime's view. */
  'registry.list': { input: z.object({}).strict().default({}), output: registryListSchema },
  /**
   * Remove one instance from the registry by force. A live instance registers again at its next
   * heartbeat (that is the registry's protocol); a dead one stays gone. NOT_FOUND when not listed.
   */
  'registry.deregister': {
    input: z.object({ service: serviceNameSchema, instanceId: instanceIdSchema }).strict(),
    output: z.object({ service: z.string(), instanceId: z.string(), deregistered: z.literal(true) }),
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const INSIGHT_EVENTS = {} as const satisfies Record<string, z.ZodType>;

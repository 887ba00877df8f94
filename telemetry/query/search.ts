import type { DuckDBValue } from '@duckdb/node-api';
import { z } from 'zod';
import { traceIdFromBigInt } from '../store/ids.ts';
import { SERVICE_NAMES_SEPARATOR } from '../store/schema.ts';
import type { Row, TelemetryReader } from '../store/reader.ts';
import { msToNs, nsToMs, parseParams, timeMs } from './params.ts';
import { spansOfTraces, traceRanges } from './trace.ts';

export const traceSearchSchema = z
  .object({
    service: z.string().min(1).optional(),
    operation: z.string().min(1).optional(),
    status: z.enum(['error', 'ok', 'unset']).optional(),
    minDurationMs: z.number().nonnegative().optional(),
    maxDurationMs: z.number().nonnegative().optional(),
    /** Exact values; numbers and booleans match their text ("200" finds 200). */
    attributes: z.record(z.string().min(1), z.string()).optional(),
    from: timeMs.optional(),
    to: timeMs.optional(),
    limit: z.number().int().min(1).max(1000).default(20),
    sort: z.enum(['newest', 'oldest', 'longest', 'shortest']).default('newest'),
  })
  .strict();

export type TraceSearch = z.input<typeof traceSearchSchema>;

export interface TraceSummary {
  readonly traceId: string;
  /** The span without a parent (the earliest span when the root never arrived). */
  readonly rootService: string;
  readonly rootName: string;
  readonly startUnixNano: bigint;
  readonly durationNs: bigint;
  readonly durationMs: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: readonly string[];
}

/** Attribute values that JSON writes bare: numbers and booleans. */
const JSON_LITERAL = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false)$/;

const SORTS = {
  newest: { column: 'start_ns', descending: true },
  oldest: { column: 'start_ns', descending: false },
  longest: { column: 'duration_ns', descending: true },
  shortest: { column: 'duration_ns', descending: false },
} as const;

/**
 * Find traces the way Jaeger does: a trace matches when one of its spans satisfies every filter
 * (service, operation, status, duration, attributes, start within from..to). Traces are ranked by
 * their best matching span: newest/oldest by that span's start, longest/shortest by its duration
 * (a search on the entry service ranks by the root span, which is the trace's own duration),
 * ties by trace id. The summaries then describe whole traces.
 *
 * Ranking by start reads matching spans in time slabs from the ranked end (see rankByStart); by
 * duration, the top matching spans by the sort key, de-duplicated into traces (see rankTraces).
 * Summaries come from the per-batch summaries in trace_index, not from the spans (see summarize).
 */
export async function searchTraces(reader: TelemetryReader, params: TraceSearch): Promise<TraceSummary[]> {
  const p = parseParams(traceSearchSchema, params, 'trace search');
  const where: string[] = [];
  const values: Record<string, DuckDBValue> = {};
  if (p.service !== undefined) {
    where.push('service = $service');
    values.service = p.service;
  }
  if (p.operation !== undefined) {
    where.push('name = $operation');
    values.operation = p.operation;
  }
  if (p.status !== undefined) {
    where.push('status = $status');
    values.status = p.status;
  }
  if (p.minDurationMs !== undefined) where.push(`duration_ns >= ${msToNs(p.minDurationMs)}`);
  if (p.maxDurationMs !== undefined) where.push(`duration_ns <= ${msToNs(p.maxDurationMs)}`);
  if (p.from !== undefined) where.push(`start_ns >= ${msToNs(p.from)}`);
  if (p.to !== undefined) where.push(`start_ns <= ${msToNs(p.to)}`);
  Object.entries(p.attributes ?? {}).forEach(([key, value], i) => {
    // Substring tests first: cheap, and they rule out nearly every row before any JSON is parsed.
    // The store writes attributes with JSON.stringify, so a top-level pair appears in the text
    // as `"key":"value"` for a string, or `"key":value` then `,` or `}` for a number or boolean.
    // In a flat object (no `{` after the first character) every pair is top-level, so the match
    // is exact; only with nested objects does json_extract_string have to confirm it.
    const pair = `${JSON.stringify(key)}:`;
    const tests = [`${pair}${JSON.stringify(value)}`];
    if (JSON_LITERAL.test(value)) tests.push(`${pair}${value},`, `${pair}${value}}`);
    tests.forEach((t, j) => (values[`s${i}_${j}`] = t));
    values[`p${i}`] = `$.${JSON.stringify(key)}`;
    values[`v${i}`] = value;
    const test = (column: string) =>
      `((${tests.map((_, j) => `contains(${column}, $s${i}_${j})`).join(' OR ')})
        AND (NOT contains(substr(${column}, 2), '{') OR json_extract_string(${column}, $p${i}) = $v${i}))`;
    where.push(`(${test('attributes')} OR ${test('resource')})`);
  });
  const condition = where.length > 0 ? where.join(' AND ') : 'true';

  const sort = SORTS[p.sort];
  const ids =
    sort.column === 'start_ns'
      ? await rankByStart(reader, condition, values, sort.descending, p.limit, p.from, p.to)
      : await rankTraces(reader, condition, values, sort, p.limit);
  if (ids.length === 0) return [];
  const summaries = await summarize(reader, ids);
  return ids.flatMap((id) => summaries.get(id) ?? []);
}

const PAGES_BEFORE_GROUPING = 6;

/** The first slab is this share of the time the spans cover; each next one is SLAB_GROWTH times wider. */
const FIRST_SLAB_SHARE = 256n;
const SLAB_GROWTH = 8n;

/**
 * The first `limit` traces by the start of their newest (or oldest) matching span. Spans are
 * stored roughly in arrival order, so a slab of time is a few row groups that the zone maps on
 * start_ns find without reading the rest. Slabs are taken from the ranked end (the newest first
 * for `newest`), each grouped by trace, until `limit` traces are found. Exact: a trace first met
 * in a later slab has all its matching spans outside the earlier ones, so its key ranks after
 * every key found there; a trace met again is already placed by its better key.
 */
async function rankByStart(
  reader: TelemetryReader,
  condition: string,
  values: Record<string, DuckDBValue>,
  descending: boolean,
  limit: number,
  fromMs: number | undefined,
  toMs: number | undefined,
): Promise<bigint[]> {
  const [bounds] = await reader.rows('SELECT min(start_ns) AS lo, max(start_ns) AS hi FROM spans');
  if (typeof bounds?.lo !== 'bigint' || typeof bounds.hi !== 'bigint') return [];
  let lo = bounds.lo;
  let hi = bounds.hi;
  if (fromMs !== undefined && msToNs(fromMs) > lo) lo = msToNs(fromMs);
  if (toMs !== undefined && msToNs(toMs) < hi) hi = msToNs(toMs);
  if (lo > hi) return [];
  const ids: bigint[] = [];
  const seen = new Set<bigint>();
  let width = (hi - lo) / FIRST_SLAB_SHARE + 1n;
  // The slab's edge toward the unranked end, and whether the ranked end is still to be included.
  let edge = descending ? hi : lo;
  let first = true;
  for (;;) {
    const range = descending
      ? `start_ns >= ${edge - width} AND start_ns ${first ? '<=' : '<'} ${edge}`
      : `start_ns <= ${edge + width} AND start_ns ${first ? '>=' : '>'} ${edge}`;
    const rows = await reader.rows(
      `SELECT trace_id, ${descending ? 'max' : 'min'}(start_ns) AS k FROM spans
       WHERE (${condition}) AND ${range}
       GROUP BY trace_id ORDER BY k ${descending ? 'DESC' : 'ASC'}, trace_id LIMIT ${limit}`,
      values,
    );
    for (const row of rows) {
      const id = row.trace_id as bigint;
      if (seen.has(id)) continue;
      seen.add(id);
      ids.push(id);
      if (ids.length === limit) return ids;
    }
    edge = descending ? edge - width : edge + width;
    if (descending ? edge <= lo : edge >= hi) return ids;
    first = false;
    width *= SLAB_GROWTH;
  }
}

/**
 * The first `limit` traces in order of their best matching span. Pages through matching spans by
 * the sort key (keyset pagination), de-duplicating into traces, so a trace with thousands of
 * matching spans costs a few extra pages rather than crowding the others out. Only if that does
 * not converge does it group every matching span by trace, which is exact but reads them all.
 */
async function rankTraces(
  reader: TelemetryReader,
  condition: string,
  values: Record<string, DuckDBValue>,
  sort: (typeof SORTS)[keyof typeof SORTS],
  limit: number,
): Promise<bigint[]> {
  const { column, descending } = sort;
  const direction = descending ? 'DESC' : 'ASC';
  const page = Math.max(limit * 10, 200);
  const ids: bigint[] = [];
  const seen = new Set<bigint>();
  let after = '';
  for (let pages = 0; pages < PAGES_BEFORE_GROUPING; pages++) {
    // No `trace_id NOT IN (placed)`: it stops DuckDB from pruning with the top-N's running bound.
    const rows = await reader.rows(
      `SELECT trace_id, ${column} AS k FROM spans WHERE (${condition})${after}
       ORDER BY k ${direction}, trace_id LIMIT ${page}`,
      values,
    );
    for (const row of rows) {
      const id = row.trace_id as bigint;
      if (seen.has(id)) continue;
      seen.add(id);
      ids.push(id);
      if (ids.length === limit) return ids;
    }
    if (rows.length < page) return ids;
    const last = rows.at(-1)!;
    const [k, id] = [last.k as bigint, `${last.trace_id as bigint}::UHUGEINT`];
    // Written as a range plus an exclusion (not an OR) so the range still prunes row groups.
    after = ` AND ${column} ${descending ? '<=' : '>='} ${k} AND NOT (${column} = ${k} AND trace_id <= ${id})`;
  }
  const grouped = await reader.rows(
    `SELECT trace_id, ${descending ? 'max' : 'min'}(${column}) AS k FROM spans WHERE ${condition}
     GROUP BY trace_id ORDER BY k ${direction}, trace_id LIMIT ${limit}`,
    values,
  );
  return grouped.map((r) => r.trace_id as bigint);
}

/**
 * Whole-trace summaries from trace_index: its rows (one per trace per appended batch) merge into
 * the same figures a pass over the spans gives (distinct span ids, so a re-sent span counts once;
 * the root is the best of each batch's root candidate). Retention deletes spans one by one but an
 * index row only when all its spans are gone, so a trace that lost some spans to it (its index
 * starts before the oldest stored span) is summarised from its remaining spans instead.
 *
 * The rows are found through the ART index on trace_index.trace_id. A trace stored in one batch
 * is summarised from that row's scalar columns; only traces spread over several batches read the
 * list columns, which cost far more to fetch (5-40 ms for 20 rows, measured on DuckDB 1.5).
 */
async function summarize(
  reader: TelemetryReader,
  ids: readonly bigint[],
): Promise<Map<bigint, TraceSummary>> {
  const inList = (list: readonly bigint[]) => list.map((id) => `${id}::UHUGEINT`).join(', ');
  const rows = await reader.rows(
    `SELECT trace_id,
       count(*) AS batches,
       min(start_ns) AS start_ns,
       max(last_end_ns) AS end_ns,
       any_value(span_count) AS span_count,
       any_value(error_count) AS error_count,
       any_value(service_names) AS service_names,
       arg_min({'service': root_service, 'name': root_name}, {'child': root_child, 'start': root_start_ns, 'id': root_span_id}) AS root,
       min(start_ns) < (SELECT min(start_ns) FROM spans) AS evicted
     FROM trace_index
     WHERE trace_id IN (${inList(ids)})
     GROUP BY trace_id`,
  );
  const out = new Map<bigint, TraceSummary>();
  const partial: bigint[] = [];
  const merged: bigint[] = [];
  for (const r of rows) {
    const id = r.trace_id as bigint;
    if (r.evicted === true) partial.push(id);
    else if (Number(r.batches) > 1) merged.push(id);
    else
      out.set(id, toSummary({ ...r, services: (r.service_names as string).split(SERVICE_NAMES_SEPARATOR) }));
  }
  // A trace whose spans came in several batches: merge the batches' id lists, so a span re-sent
  // in another batch counts once.
  if (merged.length > 0) {
    const lists = await reader.rows(
      `SELECT trace_id,
         min(start_ns) AS start_ns,
         max(last_end_ns) AS end_ns,
         length(list_distinct(flatten(list(span_ids)))) AS span_count,
         length(list_distinct(flatten(list(error_span_ids)))) AS error_count,
         list_sort(list_distinct(flatten(list(services)))) AS services,
         arg_min({'service': root_service, 'name': root_name}, {'child': root_child, 'start': root_start_ns, 'id': root_span_id}) AS root
       FROM trace_index
       WHERE trace_id IN (${inList(merged)})
       GROUP BY trace_id`,
    );
    for (const r of lists) out.set(r.trace_id as bigint, toSummary(r));
  }
  if (partial.length > 0) for (const [id, s] of await summarizeFromSpans(reader, partial)) out.set(id, s);
  return out;
}

function toSummary(r: Row): TraceSummary {
  const start = r.start_ns as bigint;
  const duration = (r.end_ns as bigint) - start;
  const root = r.root as { service: string; name: string };
  return {
    traceId: traceIdFromBigInt(r.trace_id as bigint),
    rootService: root.service,
    rootName: root.name,
    startUnixNano: start,
    durationNs: duration,
    durationMs: nsToMs(duration),
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
    services: r.services as string[],
  };
}

async function summarizeFromSpans(
  reader: TelemetryReader,
  ids: readonly bigint[],
): Promise<Map<bigint, TraceSummary>> {
  const spans = spansOfTraces(
    await traceRanges(reader, ids),
    'trace_id, span_id, parent_span_id, service, name, status, start_ns, duration_ns',
  );
  if (spans === null) return new Map();
  const rows = await reader.rows(
    `SELECT trace_id,
       min(start_ns) AS start_ns,
       max(start_ns + duration_ns) AS end_ns,
       count(DISTINCT span_id) AS span_count,
       count(DISTINCT span_id) FILTER (WHERE status = 'error') AS error_count,
       list_sort(list(DISTINCT service)) AS services,
       arg_min({'service': service, 'name': name}, {'child': parent_span_id IS NOT NULL, 'start': start_ns, 'id': span_id}) AS root
     FROM (${spans})
     GROUP BY trace_id`,
  );
  return new Map(rows.map((r) => [r.trace_id as bigint, toSummary(r)]));
}

import type { DuckDBValue } from '@duckdb/node-api';
import { z } from 'zod';
import { traceIdFromBigInt } from '../store/ids.ts';
import type { TelemetryReader } from '../store/reader.ts';
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
 * Ranking reads the top matching spans by the sort key and de-duplicates them into traces (see
 * rankTraces); summaries then read only the ranked traces' spans (see spansOfTraces).
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

  const ids = await rankTraces(reader, condition, values, SORTS[p.sort], p.limit);
  if (ids.length === 0) return [];
  const summaries = await summarize(reader, ids);
  return ids.flatMap((id) => summaries.get(id) ?? []);
}

const PAGES_BEFORE_GROUPING = 6;

/**
 * The first `limit` traces in order of their best matching span. Pages through matching spans by
 * the sort key (keyset pagination), skipping traces already placed, so a trace with thousands of
 * matching spans costs one extra page rather than crowding the others out. Only if that does not
 * converge does it group every matching span by trace, which is exact but reads them all.
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
    const skip =
      ids.length > 0 ? ` AND trace_id NOT IN (${ids.map((id) => `${id}::UHUGEINT`).join(', ')})` : '';
    const rows = await reader.rows(
      `SELECT trace_id, ${column} AS k FROM spans WHERE (${condition})${skip}${after}
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

async function summarize(
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
  const out = new Map<bigint, TraceSummary>();
  for (const r of rows) {
    const id = r.trace_id as bigint;
    const start = r.start_ns as bigint;
    const duration = (r.end_ns as bigint) - start;
    const root = r.root as { service: string; name: string };
    out.set(id, {
      traceId: traceIdFromBigInt(id),
      rootService: root.service,
      rootName: root.name,
      startUnixNano: start,
      durationNs: duration,
      durationMs: nsToMs(duration),
      spanCount: Number(r.span_count),
      errorCount: Number(r.error_count),
      services: r.services as string[],
    });
  }
  return out;
}

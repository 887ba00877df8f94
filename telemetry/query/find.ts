/**
 * Find spans in one trace by what they carry, attribute values included: the outline the
 * waterfall holds has names and services but no attributes, and a 50,000-span trace's attributes
 * are far too much to send to look through. The search runs where they are.
 *
 * `text` is matched case-insensitively: as a substring of the name, service, instance, status
 * message, event names and string attribute or resource values; whole for span ids and
 * non-string values (`200` finds status code 200, not 1200). `key=value` looks at attributes
 * and resource entries with that key (case-insensitive) whose value contains `value`.
 */
import { traceIdToBigInt } from '../store/ids.ts';
import type { TelemetryReader } from '../store/reader.ts';
import { parseParams, traceIdParam } from './params.ts';
import { traceCondition, traceRanges } from './trace.ts';

export interface SpanMatch {
  readonly spanId: string;
  /**
   * What matched: `name`, `service`, `instance`, `spanId`, `statusMessage`, `event`,
   * `attributes.<key>` or `resource.<key>` (sorted, each once).
   */
  readonly fields: readonly string[];
}

export interface TraceFind {
  readonly matches: readonly SpanMatch[];
  /** More spans matched than `limit`; the first `limit` by span id are given. */
  readonly truncated: boolean;
}

/** A JSON value (from json_each) matching $q: strings contain it, other values equal it. */
const VALUE_MATCHES = `CASE WHEN json_type(value) = 'VARCHAR' THEN contains(lower(value ->> '$'), $q)
  ELSE lower(value::VARCHAR) = $q END`;

/**
 * Walking a span's JSON with json_each is the costly part; a row whose JSON text does not even
 * contain the text cannot match, so it is skipped first. Sound only when the text has nothing
 * JSON escapes (quotes, backslashes, control characters); otherwise every row is walked.
 */
const prefilter = (column: string, param: string, usable: boolean) =>
  usable ? `contains(lower(${column}), ${param})` : 'true';

function freeText(column: string, usable: boolean): string {
  return `CASE WHEN ${prefilter(column, '$q', usable)} THEN coalesce((SELECT list(key ORDER BY key)
    FROM json_each(${column}) WHERE ${VALUE_MATCHES}), []) ELSE [] END`;
}
function keyValue(column: string, usable: boolean): string {
  return `CASE WHEN ${prefilter(column, '$k', usable)} THEN coalesce((SELECT list(key ORDER BY key)
    FROM json_each(${column}) WHERE lower(key) = $k AND (CASE WHEN json_type(value) = 'VARCHAR'
      THEN contains(lower(value ->> '$'), $q) ELSE contains(lower(value::VARCHAR), $q) END)), [])
    ELSE [] END`;
}
const JSON_ESCAPED = /["\\\u0000-\u001f]/;

/** The spans of the trace matching `text`, or null when no span of it is stored. */
export async function findInTrace(
  reader: TelemetryReader,
  traceId: string,
  text: string,
  limit = 10_000,
): Promise<TraceFind | null> {
  const hex = parseParams(traceIdParam, traceId, 'trace id');
  const id = traceIdToBigInt(hex);
  const range = (await traceRanges(reader, [id])).get(id);
  if (!range) return null;
  const query = text.trim().toLowerCase();
  if (query === '') return { matches: [], truncated: false };
  const eq = query.indexOf('=');
  const byKey = eq > 0 && query.slice(0, eq).trim() !== '';
  const values: Record<string, string> = byKey
    ? { k: query.slice(0, eq).trim(), q: query.slice(eq + 1).trim() }
    : { q: query };
  const usable = !Object.values(values).some((v) => JSON_ESCAPED.test(v));
  const fields = byKey
    ? `false AS name, false AS service, false AS instance, false AS span, false AS message, false AS event,
       ${keyValue('attributes', usable)} AS attrs, ${keyValue('resource', usable)} AS res`
    : `contains(lower(name), $q) AS name,
       contains(lower(service), $q) AS service,
       coalesce(contains(lower(instance), $q), false) AS instance,
       lower(lpad(to_hex(span_id), 16, '0')) = $q AS span,
       coalesce(contains(lower(status_message), $q), false) AS message,
       coalesce((SELECT bool_or(contains(lower(value ->> 'name'), $q)) FROM json_each(events)), false) AS event,
       ${freeText('attributes', usable)} AS attrs, ${freeText('resource', usable)} AS res`;
  const rows = await reader.rows(
    `SELECT * FROM (
       SELECT DISTINCT ON (span_id) lower(lpad(to_hex(span_id), 16, '0')) AS id, ${fields}
       FROM spans WHERE ${traceCondition(id, range)}
     ) WHERE name OR service OR instance OR span OR message OR event OR len(attrs) > 0 OR len(res) > 0
     ORDER BY id LIMIT ${limit + 1}`,
    values,
  );
  const matches = rows.slice(0, limit).map((r) => {
    const found: string[] = [];
    if (r.name) found.push('name');
    if (r.service) found.push('service');
    if (r.instance) found.push('instance');
    if (r.span) found.push('spanId');
    if (r.message) found.push('statusMessage');
    if (r.event) found.push('event');
    for (const k of (r.attrs ?? []) as string[]) found.push(`attributes.${k}`);
    for (const k of (r.res ?? []) as string[]) found.push(`resource.${k}`);
    return { spanId: r.id as string, fields: [...new Set(found)] };
  });
  return { matches, truncated: rows.length > limit };
}

import type {
  Attributes,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanRecord,
  StatusCode,
} from '../model/telemetry.ts';
import type { TelemetryReader } from '../store/reader.ts';

interface StoredEvent {
  readonly timeUnixNano: string;
  readonly name: string;
  readonly attributes: Attributes;
}

function parseEvents(json: unknown): SpanEvent[] {
  if (typeof json !== 'string') return [];
  return (JSON.parse(json) as StoredEvent[]).map((e) => ({
    timeUnixNano: BigInt(e.timeUnixNano),
    name: e.name,
    attributes: e.attributes,
  }));
}

function parseLinks(json: unknown): SpanLink[] {
  return typeof json === 'string' ? (JSON.parse(json) as SpanLink[]) : [];
}

/**
 * One string per row, fields separated by U+001F. Reading a DuckDB value into JavaScript costs
 * about a microsecond (a copy and a UTF-8 decode per string), so one packed value instead of
 * sixteen makes assembling a 10,000-span trace several times faster. Ids and numbers are digits
 * and JSON.stringify escapes control characters, so those fields cannot contain the separator;
 * free text (names, messages) is escaped: `\` → `\\`, U+001F → `\u`. A nullable field is empty
 * for NULL and carries a `=` prefix otherwise. concat_ws skips NULLs, hence the coalesces.
 */
const escaped = (column: string) => `replace(replace(${column}, '\\', '\\\\'), chr(31), '\\u')`;
const nullable = (column: string) => `coalesce('=' || ${escaped(column)}, '')`;
/** The ten fields every packed row starts with: what a span outline is made of. */
const HEAD = `lower(lpad(to_hex(span_id), 16, '0')),
  coalesce(lower(lpad(to_hex(parent_span_id), 16, '0')), ''),
  start_ns, duration_ns,
  ${escaped('service')}, ${nullable('instance')}, ${escaped('name')}, kind, status,
  ${nullable('status_message')}`;
const PACKED = `concat_ws(chr(31), ${HEAD}, ${nullable('scope_name')}, ${nullable('scope_version')},
  attributes, resource, coalesce(events, ''), coalesce(links, ''))`;
const SEPARATOR = '\u001f';

function unescape(text: string): string {
  return text.includes('\\')
    ? text.replace(/\\([\\u])/g, (_, c: string) => (c === 'u' ? SEPARATOR : '\\'))
    : text;
}

function unescapeNullable(text: string): string | null {
  return text === '' ? null : unescape(text.slice(1));
}

/** The fields of HEAD, from a packed row split at the separator. */
function headOf(f: readonly string[], traceId: string) {
  const start = BigInt(f[2]!);
  return {
    traceId,
    spanId: f[0]!,
    parentSpanId: f[1] === '' ? null : f[1]!,
    service: unescape(f[4]!),
    instance: unescapeNullable(f[5]!),
    name: unescape(f[6]!),
    kind: f[7] as SpanKind,
    startUnixNano: start,
    endUnixNano: start + BigInt(f[3]!),
    statusCode: f[8] as StatusCode,
    statusMessage: unescapeNullable(f[9]!),
  };
}

/** The spans of one trace matching a SQL condition, oldest first. */
export async function readTraceSpans(
  reader: TelemetryReader,
  traceId: string,
  where: string,
): Promise<SpanRecord[]> {
  const result = await reader.connection.runAndReadAll(
    `SELECT ${PACKED} AS packed FROM spans WHERE ${where} ORDER BY start_ns, span_id`,
  );
  const rows = (result.getColumnsJS()[0] ?? []) as string[];
  // A trace's spans share a handful of resources (one per process): parse each text once and
  // share the object (nothing mutates a stored span's resource).
  const resources = new Map<string, Attributes>();
  return rows.map((row) => {
    const f = row.split(SEPARATOR);
    const scopeName = unescapeNullable(f[10]!);
    const resourceText = f[13]!;
    let resource = resources.get(resourceText);
    if (resource === undefined)
      resources.set(resourceText, (resource = JSON.parse(resourceText) as Attributes));
    return {
      ...headOf(f, traceId),
      attributes: JSON.parse(f[12]!) as Attributes,
      resource,
      scope: scopeName === null ? null : { name: scopeName, version: unescapeNullable(f[11]!) },
      events: parseEvents(f[14] === '' ? null : f[14]),
      links: parseLinks(f[15] === '' ? null : f[15]),
    };
  });
}

/** A span without its attributes, resource, events and links: what a waterfall draws first. */
export interface SpanOutline extends Pick<
  SpanRecord,
  | 'traceId'
  | 'spanId'
  | 'parentSpanId'
  | 'service'
  | 'instance'
  | 'name'
  | 'kind'
  | 'startUnixNano'
  | 'endUnixNano'
  | 'statusCode'
  | 'statusMessage'
> {
  readonly eventCount: number;
  readonly linkCount: number;
  /** When and what happened in the span (no attributes): enough to draw a tick on its bar. */
  readonly eventMarks: readonly { readonly timeUnixNano: bigint; readonly name: string }[];
}

/** Event times and names as a JSON array, the attributes left in the database; '' for none. */
const EVENT_MARKS = `coalesce(to_json(json_transform(events,
  '[{"timeUnixNano":"VARCHAR","name":"VARCHAR"}]'))::VARCHAR, '')`;
const OUTLINE = `concat_ws(chr(31), ${HEAD},
  coalesce(json_array_length(events), 0), coalesce(json_array_length(links), 0), ${EVENT_MARKS})`;

function parseEventMarks(json: string): SpanOutline['eventMarks'] {
  if (json === '') return [];
  return (JSON.parse(json) as { timeUnixNano: string; name: string }[]).map((e) => ({
    timeUnixNano: BigInt(e.timeUnixNano),
    name: e.name,
  }));
}

/**
 * The outline of the spans of one trace matching a SQL condition, in storage order (assembly
 * sorts). Leaving the JSON columns in the database is what makes this several times faster than
 * readTraceSpans on a large trace.
 */
export async function readTraceOutline(
  reader: TelemetryReader,
  traceId: string,
  where: string,
): Promise<SpanOutline[]> {
  const result = await reader.connection.runAndReadAll(
    `SELECT ${OUTLINE} AS packed FROM spans WHERE ${where}`,
  );
  const rows = (result.getColumnsJS()[0] ?? []) as string[];
  return rows.map((row) => {
    const f = row.split(SEPARATOR);
    return {
      ...headOf(f, traceId),
      eventCount: Number(f[10]),
      linkCount: Number(f[11]),
      eventMarks: parseEventMarks(f[12] ?? ''),
    };
  });
}

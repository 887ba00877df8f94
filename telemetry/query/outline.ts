/**
 * A trace's outline for the waterfall, columnar from the database to the answer. The same tree,
 * order, depths, orphans and clock-skew shifts as assembleTrace over readTraceOutline (the unit
 * spec checks that on random traces), but without one JavaScript object per span:
 *
 * - read: one row of a dozen aggregated strings (ids concatenated, numbers comma-separated, text
 *   separated by U+001F) instead of 50,000 rows: reading a DuckDB value costs about a microsecond,
 *   so at 50,000 spans the row-per-span read alone took 0.5-1.2 s on the shared 2-core machine;
 * - assembly on typed arrays, with times as nanoseconds after the trace's first stored start in
 *   plain numbers (exact below 2^53 ns, 104 days), not bigints: the bigint tree took about 1 s.
 */
import type { SpanKind, StatusCode } from '../model/telemetry.ts';
import { traceIdToBigInt } from '../store/ids.ts';
import type { TelemetryReader } from '../store/reader.ts';
import { parseParams, traceIdParam } from './params.ts';
import { traceCondition, traceRanges } from './trace.ts';

export const OUTLINE_SPAN_KINDS: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
export const OUTLINE_STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];

/**
 * Spans in waterfall order (depth first, roots then orphans, children by raw start then id); every
 * per-span column has one entry per span in that order. Times are ms, to microseconds (ns
 * truncated), relative to `startMs` unless said otherwise.
 */
export interface OutlineColumns {
  readonly traceId: string;
  /** Unix ms of the earliest raw start. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly spanCount: number;
  /** Sorted. */
  readonly services: readonly string[];
  readonly errorCount: number;
  readonly orphanCount: number;
  readonly skewAdjustedCount: number;
  readonly duplicateCount: number;
  /** 16 hex characters per span, concatenated. */
  readonly spanIds: string;
  /** Position of the parent; -1 for a root or an orphan. */
  readonly parent: Int32Array;
  readonly depth: Int32Array;
  readonly service: Int32Array;
  /** Index into `instances`, -1 for none. */
  readonly instance: Int32Array;
  readonly name: Int32Array;
  /** Index into OUTLINE_SPAN_KINDS / OUTLINE_STATUS_CODES. */
  readonly kind: Uint8Array;
  readonly status: Uint8Array;
  readonly start: Float64Array;
  readonly duration: Float64Array;
  readonly skew: Float64Array;
  /** In order of first use along the waterfall. */
  readonly names: readonly string[];
  readonly instances: readonly string[];
  readonly orphans: readonly { index: number; parentId: string }[];
  readonly statusMessages: readonly { index: number; message: string }[];
  readonly events: readonly { index: number; time: number; name: string }[];
  readonly linkCounts: readonly { index: number; count: number }[];
}

const SEP = '\u001f';
const escaped = (column: string) => `replace(replace(${column}, '\\', '\\\\'), chr(31), '\\u')`;
const nullable = (column: string) => `coalesce('=' || ${escaped(column)}, '')`;
const NO_PARENT = '----------------';
const EVENT_MARKS = `coalesce(to_json(json_transform(events,
  '[{"timeUnixNano":"VARCHAR","name":"VARCHAR"}]'))::VARCHAR, '')`;

function unescape(text: string): string {
  return text.includes('\\') ? text.replace(/\\([\\u])/g, (_, c: string) => (c === 'u' ? SEP : '\\')) : text;
}

/** The rows of one trace as columns, all in one (unspecified) row order. */
interface RawColumns {
  n: number;
  /** Where each row is stored: the lowest rowid of a span id is its first stored copy. */
  rowid: Float64Array;
  ids: string;
  parents: string;
  start: Float64Array;
  end: Float64Array;
  service: string[];
  instance: (string | null)[];
  name: string[];
  kind: string[];
  status: string[];
  statusMessage: string[];
  events: string[];
  links: string[];
}

async function readColumns(
  reader: TelemetryReader,
  where: string,
  baseNs: bigint,
): Promise<RawColumns | null> {
  // No ORDER BY: each ordered aggregate sorts the rows again (a dozen sorts, most of the query's
  // time). The aggregates of one ungrouped aggregation see the rows in the same order (DuckDB feeds
  // every aggregate the same chunks and combines their states together), so the columns line up;
  // the rowids say which copy of a re-sent span was stored first.
  const agg = (expr: string, sep: string) => `string_agg(${expr}, ${sep})`;
  const result = await reader.connection.runAndReadAll(
    `SELECT count(*)::INTEGER, ${agg('rowid::VARCHAR', "','")},
      ${agg(`lower(lpad(to_hex(span_id), 16, '0'))`, "''")},
      ${agg(`coalesce(lower(lpad(to_hex(parent_span_id), 16, '0')), '${NO_PARENT}')`, "''")},
      ${agg(`(start_ns - ${baseNs})::VARCHAR`, "','")},
      ${agg(`duration_ns::VARCHAR`, "','")},
      ${agg(escaped('service'), 'chr(31)')},
      ${agg(nullable('instance'), 'chr(31)')},
      ${agg(escaped('name'), 'chr(31)')},
      ${agg('kind', "','")},
      ${agg('status', "','")},
      ${agg(nullable('status_message'), 'chr(31)')},
      ${agg(EVENT_MARKS, 'chr(31)')},
      ${agg(`coalesce(json_array_length(links), 0)::VARCHAR`, "','")}
     FROM spans WHERE ${where}`,
  );
  const row = result.getRowsJS()[0] ?? [];
  const n = Number(row[0] ?? 0);
  if (n === 0) return null;
  const text = (k: number): string => (typeof row[k] === 'string' ? row[k] : '');
  const starts = text(4).split(',');
  const durations = text(5).split(',');
  if (starts.length !== n || durations.length !== n || text(2).length !== n * 16)
    throw new Error(`the outline's columns of ${n} spans came back with other lengths`);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = Number(starts[i]);
    end[i] = start[i]! + Number(durations[i]);
  }
  const unescaped = (k: number) => {
    const parts = text(k).split(SEP);
    for (let i = 0; i < parts.length; i++) parts[i] = unescape(parts[i]!);
    return parts;
  };
  return {
    n,
    rowid: Float64Array.from(text(1).split(','), Number),
    ids: text(2),
    parents: text(3),
    start,
    end,
    service: unescaped(6),
    instance: text(7)
      .split(SEP)
      .map((s) => (s === '' ? null : unescape(s.slice(1)))),
    name: unescaped(8),
    kind: text(9).split(','),
    status: text(10).split(','),
    statusMessage: text(11).split(SEP),
    events: text(12).split(SEP),
    links: text(13).split(','),
  };
}

/** ns → ms to microseconds, truncated toward zero as `Number(ns / 1000n) / 1000` does. */
const ms = (ns: number): number => Math.trunc(ns / 1000) / 1000;

/** The trace's outline, or null when no span of it is stored. */
export async function getOutlineColumns(
  reader: TelemetryReader,
  traceId: string,
): Promise<OutlineColumns | null> {
  const hex = parseParams(traceIdParam, traceId, 'trace id');
  const id = traceIdToBigInt(hex);
  const range = (await traceRanges(reader, [id])).get(id);
  if (!range) return null;
  const raw = await readColumns(reader, traceCondition(id, range), range.startNs);
  return raw ? assembleColumns(hex, raw, range.startNs) : null;
}

/** Exported for the spec, which checks it against assembleTrace. */
export function assembleColumns(traceId: string, raw: RawColumns, baseNs: bigint): OutlineColumns {
  const idOf = (r: number) => raw.ids.slice(r * 16, r * 16 + 16);

  // Keep the first stored copy of each span id ("kept" spans are numbered k = 0..m-1).
  const byId = new Map<string, number>();
  const rowOf: number[] = [];
  let duplicateCount = 0;
  for (let r = 0; r < raw.n; r++) {
    const sid = idOf(r);
    const k = byId.get(sid);
    if (k !== undefined) {
      duplicateCount++;
      if (raw.rowid[r]! < raw.rowid[rowOf[k]!]!) rowOf[k] = r;
      continue;
    }
    byId.set(sid, rowOf.length);
    rowOf.push(r);
  }
  const m = rowOf.length;
  const start = new Float64Array(m);
  const end = new Float64Array(m);
  const ids: string[] = new Array<string>(m);
  const parentIds: (string | null)[] = new Array<string | null>(m);
  const process = new Int32Array(m);
  const processIds = new Map<string, number>();
  for (let k = 0; k < m; k++) {
    const r = rowOf[k]!;
    start[k] = raw.start[r]!;
    end[k] = raw.end[r]!;
    ids[k] = idOf(r);
    const p = raw.parents.slice(r * 16, r * 16 + 16);
    parentIds[k] = p === NO_PARENT ? null : p;
    // Spans of one process (service and instance) share a clock.
    const key = `${raw.service[r]!}\u0000${raw.instance[r] ?? ''}`;
    let pid = processIds.get(key);
    if (pid === undefined) processIds.set(key, (pid = processIds.size));
    process[k] = pid;
  }
  const before = (a: number, b: number): number =>
    start[a] !== start[b] ? start[a]! - start[b]! : ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0;

  const parent = new Int32Array(m).fill(-1);
  const orphan = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    const pid = parentIds[k];
    if (pid === null) continue;
    const p = pid === ids[k] ? undefined : byId.get(pid!);
    if (p !== undefined) parent[k] = p;
    else orphan[k] = 1;
  }
  // Parent links that loop leave no root to hang from: cut each loop at its earliest span.
  const state = new Uint8Array(m); // 1: on the current path, 2: known to reach a root
  const path: number[] = [];
  for (let s = 0; s < m; s++) {
    path.length = 0;
    let d = s;
    while (d >= 0 && state[d] === 0) {
      state[d] = 1;
      path.push(d);
      d = parent[d]!;
    }
    if (d >= 0 && state[d] === 1) {
      const loop = path.slice(path.indexOf(d)).sort(before);
      parent[loop[0]!] = -1;
      orphan[loop[0]!] = 1;
    }
    for (const p of path) state[p] = 2;
  }

  // Children of each span, contiguous (CSR), each group by raw start then id.
  const childStart = new Int32Array(m + 1);
  for (let k = 0; k < m; k++) if (parent[k]! >= 0) childStart[parent[k]! + 1]!++;
  for (let k = 0; k < m; k++) childStart[k + 1]! += childStart[k]!;
  const fill = childStart.slice(0, m);
  const children = new Int32Array(childStart[m]!);
  const roots: number[] = [];
  for (let k = 0; k < m; k++) {
    if (parent[k]! >= 0) children[fill[parent[k]!]!++] = k;
    else roots.push(k);
  }
  for (let k = 0; k < m; k++) {
    const a = childStart[k]!;
    const b = childStart[k + 1]!;
    if (b - a > 1) children.set(Array.from(children.subarray(a, b)).sort(before), a);
  }
  roots.sort((a, b) => (orphan[a] === orphan[b] ? before(a, b) : orphan[a] ? 1 : -1));

  // Depth-first walk (iterative: traces can be thousands of spans deep), skew on the way down.
  const order = new Int32Array(m);
  const position = new Int32Array(m);
  const depthOf = new Int32Array(m);
  const shiftOf = new Float64Array(m);
  const stack: number[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]!);
  let at = 0;
  while (stack.length > 0) {
    const k = stack.pop()!;
    const p = parent[k]!;
    let shift = 0;
    if (p >= 0) {
      depthOf[k] = depthOf[p]! + 1;
      if (process[p] === process[k]) shift = shiftOf[p]!;
      else {
        // Jaeger UI's rule (see assemble.ts skewFor): fit a cross-process child inside its parent.
        const ps = start[p]! + shiftOf[p]!;
        const pe = end[p]! + shiftOf[p]!;
        const cs = start[k]!;
        const ce = end[k]!;
        if (!(cs >= ps && ce <= pe)) {
          const cd = ce - cs;
          const pd = pe - ps;
          shift = cd > pd ? (cs < ps ? ps - cs : 0) : ps + Math.trunc((pd - cd) / 2) - cs;
        }
      }
    }
    shiftOf[k] = shift;
    position[k] = at;
    order[at++] = k;
    for (let c = childStart[k + 1]! - 1; c >= childStart[k]!; c--) stack.push(children[c]!);
  }

  let minStart = Infinity;
  let maxEnd = -Infinity;
  const serviceSet = new Set<string>();
  for (let k = 0; k < m; k++) {
    if (start[k]! < minStart) minStart = start[k]!;
    if (end[k]! > maxEnd) maxEnd = end[k]!;
    serviceSet.add(raw.service[rowOf[k]!]!);
  }
  const services = [...serviceSet].sort();
  const serviceIndex = new Map(services.map((s, i) => [s, i]));
  const kindIndex = new Map(OUTLINE_SPAN_KINDS.map((s, i) => [s as string, i]));
  const statusIndex = new Map(OUTLINE_STATUS_CODES.map((s, i) => [s as string, i]));
  const originNs = baseNs + BigInt(minStart);

  const out = {
    parent: new Int32Array(m),
    depth: new Int32Array(m),
    service: new Int32Array(m),
    instance: new Int32Array(m),
    name: new Int32Array(m),
    kind: new Uint8Array(m),
    status: new Uint8Array(m),
    start: new Float64Array(m),
    duration: new Float64Array(m),
    skew: new Float64Array(m),
  };
  const spanIds: string[] = new Array<string>(m);
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const instances: string[] = [];
  const instanceIndex = new Map<string, number>();
  const orphans: { index: number; parentId: string }[] = [];
  const statusMessages: { index: number; message: string }[] = [];
  const events: { index: number; time: number; name: string }[] = [];
  const linkCounts: { index: number; count: number }[] = [];
  let errorCount = 0;
  let orphanCount = 0;
  let skewAdjustedCount = 0;
  for (let i = 0; i < m; i++) {
    const k = order[i]!;
    const r = rowOf[k]!;
    spanIds[i] = ids[k]!;
    out.parent[i] = orphan[k] || parent[k]! < 0 ? -1 : position[parent[k]!]!;
    if (orphan[k]) {
      orphanCount++;
      if (parentIds[k] !== null) orphans.push({ index: i, parentId: parentIds[k]! });
    }
    out.depth[i] = depthOf[k]!;
    out.service[i] = serviceIndex.get(raw.service[r]!)!;
    const inst = raw.instance[r];
    if (inst === null || inst === undefined) out.instance[i] = -1;
    else {
      let x = instanceIndex.get(inst);
      if (x === undefined) instanceIndex.set(inst, (x = instances.push(inst) - 1));
      out.instance[i] = x;
    }
    const nm = raw.name[r]!;
    let x = nameIndex.get(nm);
    if (x === undefined) nameIndex.set(nm, (x = names.push(nm) - 1));
    out.name[i] = x;
    out.kind[i] = kindIndex.get(raw.kind[r]!) ?? 0;
    const st = statusIndex.get(raw.status[r]!) ?? 0;
    out.status[i] = st;
    if (raw.status[r] === 'error') errorCount++;
    out.start[i] = ms(start[k]! - minStart);
    out.duration[i] = ms(end[k]! - start[k]!);
    out.skew[i] = ms(shiftOf[k]!);
    if (shiftOf[k] !== 0) skewAdjustedCount++;
    const message = raw.statusMessage[r]!;
    if (message !== '') statusMessages.push({ index: i, message: unescape(message.slice(1)) });
    const marks = raw.events[r]!;
    if (marks !== '') {
      for (const e of JSON.parse(marks) as { timeUnixNano: string; name: string }[]) {
        events.push({
          index: i,
          time: Number((BigInt(e.timeUnixNano) - originNs) / 1000n) / 1000,
          name: e.name,
        });
      }
    }
    const links = Number(raw.links[r]);
    if (links > 0) linkCounts.push({ index: i, count: links });
  }
  return {
    traceId,
    startMs: Number(originNs / 1000n) / 1000,
    durationMs: ms(maxEnd - minStart),
    spanCount: m,
    services,
    errorCount,
    orphanCount,
    skewAdjustedCount,
    duplicateCount,
    spanIds: spanIds.join(''),
    ...out,
    names,
    instances,
    orphans,
    statusMessages,
    events,
    linkCounts,
  };
}

/**
 * Rows of a two-trace comparison: one per structural position (see telemetry/query/compare.ts:
 * the service:name path from the root, with an ordinal among like siblings), in A's waterfall
 * order, with B's extra spans placed right after what precedes them in B.
 */
import type { Span, TraceComparison } from '../../../../electron/api/schemas.ts';

type Positioned = Pick<Span, 'spanId' | 'depth' | 'start' | 'skew' | 'duration' | 'status'>;

export interface CompareRow {
  readonly key: string;
  readonly service: string;
  readonly name: string;
  readonly kind: 'matched' | 'added' | 'removed';
  readonly depth: number;
  /** ms from the trace's start, or null when the span is not in that trace. */
  readonly offsetA: number | null;
  readonly offsetB: number | null;
  readonly durationA: number | null;
  readonly durationB: number | null;
  readonly delta: number | null;
  readonly statusA: Span['status'] | null;
  readonly statusB: Span['status'] | null;
  readonly spanIdA: string | null;
  readonly spanIdB: string | null;
}

export function compareRows(
  cmp: TraceComparison,
  a: { start: number; spans: readonly Positioned[] },
  b: { start: number; spans: readonly Positioned[] },
): CompareRow[] {
  const spanB = new Map(b.spans.map((s) => [s.spanId, s]));
  const offset = (s: Positioned | undefined, start: number) => (s ? s.start + s.skew - start : null);
  const matchedByA = new Map(cmp.matched.map((m) => [m.spanIdA, m]));
  const removedById = new Map(cmp.removed.map((r) => [r.spanId, r]));
  const addedById = new Map(cmp.added.map((r) => [r.spanId, r]));

  const base: CompareRow[] = [];
  const rowByB = new Map<string, CompareRow>();
  for (const s of a.spans) {
    const m = matchedByA.get(s.spanId);
    if (m) {
      const sb = spanB.get(m.spanIdB);
      const row: CompareRow = {
        key: m.key,
        service: m.service,
        name: m.name,
        kind: 'matched',
        depth: s.depth,
        offsetA: offset(s, a.start),
        offsetB: offset(sb, b.start),
        durationA: m.durationA,
        durationB: m.durationB,
        delta: m.delta,
        statusA: m.statusA,
        statusB: m.statusB,
        spanIdA: m.spanIdA,
        spanIdB: m.spanIdB,
      };
      base.push(row);
      rowByB.set(m.spanIdB, row);
      continue;
    }
    const r = removedById.get(s.spanId);
    if (r) {
      base.push({
        key: r.key,
        service: r.service,
        name: r.name,
        kind: 'removed',
        depth: s.depth,
        offsetA: offset(s, a.start),
        offsetB: null,
        durationA: r.duration,
        durationB: null,
        delta: null,
        statusA: s.status,
        statusB: null,
        spanIdA: r.spanId,
        spanIdB: null,
      });
    }
  }

  // B-only spans go after the row that precedes them in B's order (their parent or an elder sibling's subtree).
  const after = new Map<CompareRow | null, CompareRow[]>();
  let previous: CompareRow | null = null;
  for (const s of b.spans) {
    const known = rowByB.get(s.spanId);
    if (known) {
      previous = known;
      continue;
    }
    const ad = addedById.get(s.spanId);
    if (!ad) continue;
    const row: CompareRow = {
      key: ad.key,
      service: ad.service,
      name: ad.name,
      kind: 'added',
      depth: s.depth,
      offsetA: null,
      offsetB: offset(s, b.start),
      durationA: null,
      durationB: ad.duration,
      delta: null,
      statusA: null,
      statusB: s.status,
      spanIdA: null,
      spanIdB: ad.spanId,
    };
    let list = after.get(previous);
    if (!list) after.set(previous, (list = []));
    list.push(row);
    previous = row;
  }

  // Iterative: a long run of B-only spans chains one after another, too deep to recurse.
  const out: CompareRow[] = [];
  const stack: CompareRow[] = [];
  const pushAll = (rows: readonly CompareRow[]) => {
    for (let i = rows.length - 1; i >= 0; i--) stack.push(rows[i]!);
  };
  pushAll([...(after.get(null) ?? []), ...base]);
  while (stack.length > 0) {
    const row = stack.pop()!;
    out.push(row);
    pushAll(after.get(row) ?? []);
  }
  return out;
}

/** Did this position change enough to be worth a look: added, removed, status or ±10 % and 1 ms. */
export function changed(row: CompareRow): boolean {
  if (row.kind !== 'matched') return true;
  if (row.statusA !== row.statusB) return true;
  const d = Math.abs(row.delta ?? 0);
  return d >= 1 && d >= 0.1 * Math.max(row.durationA ?? 0, 1e-9);
}

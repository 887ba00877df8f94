/**
 * The waterfall's data model: a trace's spans (already in waterfall order, depth first, as the
 * contract sends them) indexed once into typed arrays, so that folding, searching and drawing a
 * 50,000-span trace never walks objects or builds trees again. Jaeger UI's lesson: build the tree
 * once, flatten it into rows, skip collapsed subtrees by index arithmetic.
 */
import type { Span } from '../../../../electron/api/schemas.ts';

/** What the waterfall needs of a span; a full contract span has it, and so will an outline. */
export type WaterfallSpan = Pick<
  Span,
  | 'spanId'
  | 'parentId'
  | 'service'
  | 'instance'
  | 'name'
  | 'kind'
  | 'start'
  | 'duration'
  | 'status'
  | 'statusMessage'
  | 'depth'
  | 'orphan'
  | 'skew'
> & { readonly events?: Span['events'] };

export interface TraceModel {
  readonly traceId: string;
  readonly spans: readonly WaterfallSpan[];
  /** Unix ms of the earliest displayed start; every offset is relative to it. */
  readonly start: number;
  /** ms from start to the last displayed end. */
  readonly duration: number;
  /** Per span, by index: where its subtree ends (exclusive), so a fold skips it in one step. */
  readonly subtreeEnd: Int32Array;
  readonly parentIndex: Int32Array;
  readonly childCount: Int32Array;
  readonly depth: Int32Array;
  readonly serviceOf: Uint16Array;
  /** Display start (skew-adjusted, Unix ms) and duration per span: for drawing all of them. */
  readonly displayStartOf: Float64Array;
  readonly durationOf: Float64Array;
  readonly services: readonly string[];
  readonly indexById: ReadonlyMap<string, number>;
  readonly maxDepth: number;
}

/** Display start (skew-adjusted), Unix ms. */
export const displayStart = (s: WaterfallSpan): number => s.start + s.skew;

export function buildTraceModel(traceId: string, spans: readonly WaterfallSpan[]): TraceModel {
  const n = spans.length;
  const subtreeEnd = new Int32Array(n);
  const parentIndex = new Int32Array(n).fill(-1);
  const childCount = new Int32Array(n);
  const depth = new Int32Array(n);
  const serviceOf = new Uint16Array(n);
  const displayStartOf = new Float64Array(n);
  const durationOf = new Float64Array(n);
  const services: string[] = [];
  const serviceIds = new Map<string, number>();
  const indexById = new Map<string, number>();
  let start = Infinity;
  let end = -Infinity;
  let maxDepth = 0;
  // An open-ancestor stack over the depth-first order gives parents and subtree ends in one pass.
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = spans[i]!;
    depth[i] = s.depth;
    if (s.depth > maxDepth) maxDepth = s.depth;
    while (stack.length > 0 && depth[stack[stack.length - 1]!]! >= s.depth) subtreeEnd[stack.pop()!] = i;
    const parent = stack.length > 0 ? stack[stack.length - 1]! : -1;
    parentIndex[i] = parent;
    if (parent >= 0) childCount[parent]!++;
    stack.push(i);
    let sid = serviceIds.get(s.service);
    if (sid === undefined) {
      sid = services.length;
      services.push(s.service);
      serviceIds.set(s.service, sid);
    }
    serviceOf[i] = sid;
    indexById.set(s.spanId, i);
    const ds = displayStart(s);
    displayStartOf[i] = ds;
    durationOf[i] = s.duration;
    if (ds < start) start = ds;
    if (ds + s.duration > end) end = ds + s.duration;
  }
  for (const i of stack) subtreeEnd[i] = n;
  if (n === 0) start = end = 0;
  return {
    traceId,
    spans,
    start,
    duration: Math.max(end - start, 0),
    subtreeEnd,
    parentIndex,
    childCount,
    depth,
    serviceOf,
    displayStartOf,
    durationOf,
    services,
    indexById,
    maxDepth,
  };
}

/** Indices of the rows to show: every span, except those inside a collapsed span's subtree. */
export function visibleRows(model: TraceModel, collapsed: Uint8Array): Int32Array {
  const n = model.spans.length;
  const out = new Int32Array(n);
  let count = 0;
  let i = 0;
  while (i < n) {
    out[count++] = i;
    i = collapsed[i] === 1 ? model.subtreeEnd[i]! : i + 1;
  }
  return out.subarray(0, count);
}

/** Spans folded away under row i (0 when it is open or a leaf). */
export const hiddenUnder = (model: TraceModel, collapsed: Uint8Array, i: number): number =>
  collapsed[i] === 1 ? model.subtreeEnd[i]! - i - 1 : 0;

/**
 * Fold every span of `service` where it is entered from elsewhere (a root, or a parent in another
 * service): the whole call into that service, and what it called, becomes one row.
 */
export function collapseService(
  model: TraceModel,
  collapsed: Uint8Array,
  service: string,
  fold: boolean,
): void {
  const sid = model.services.indexOf(service);
  if (sid < 0) return;
  for (let i = 0; i < model.spans.length; i++) {
    if (model.serviceOf[i] !== sid || model.childCount[i] === 0) continue;
    const p = model.parentIndex[i]!;
    if (p < 0 || model.serviceOf[p] !== sid) collapsed[i] = fold ? 1 : 0;
  }
}

/** Fold every span at `depth` or deeper that has children (depth 0 folds the roots). */
export function collapseToDepth(model: TraceModel, collapsed: Uint8Array, depth: number): void {
  for (let i = 0; i < model.spans.length; i++) {
    collapsed[i] = model.depth[i]! >= depth && model.childCount[i]! > 0 ? 1 : 0;
  }
}

/** Open every ancestor of span i, so that it is on screen. */
export function revealRow(model: TraceModel, collapsed: Uint8Array, i: number): void {
  for (let p = model.parentIndex[i]!; p >= 0; p = model.parentIndex[p]!) collapsed[p] = 0;
}

/**
 * Spans matching a free-text query (case-insensitive) in service, name, span id, status message or,
 * when the spans carry them, attribute values. `key=value` matches one attribute exactly-ish.
 */
export function searchSpans(
  model: TraceModel,
  query: string,
  attributesOf?: (i: number) => Readonly<Record<string, unknown>> | undefined,
): Int32Array {
  const q = query.trim().toLowerCase();
  if (q === '') return new Int32Array(0);
  const eq = q.indexOf('=');
  const attrKey = eq > 0 ? q.slice(0, eq).trim() : null;
  const attrValue = eq > 0 ? q.slice(eq + 1).trim() : null;
  const out: number[] = [];
  const seen = new Map<string, boolean>();
  for (let i = 0; i < model.spans.length; i++) {
    const s = model.spans[i]!;
    const attrs = attributesOf?.(i);
    if (attrKey !== null && attrValue !== null) {
      if (attrs) {
        for (const [k, v] of Object.entries(attrs)) {
          if (k.toLowerCase() === attrKey && String(v).toLowerCase().includes(attrValue)) {
            out.push(i);
            break;
          }
        }
      }
      continue;
    }
    // Names and services repeat across thousands of spans: test each distinct string once.
    let hit = seen.get(s.name);
    if (hit === undefined) seen.set(s.name, (hit = s.name.toLowerCase().includes(q)));
    let serviceHit = seen.get(s.service);
    if (serviceHit === undefined) seen.set(s.service, (serviceHit = s.service.toLowerCase().includes(q)));
    if (hit || serviceHit || s.spanId === q || (s.statusMessage?.toLowerCase().includes(q) ?? false)) {
      out.push(i);
      continue;
    }
    if (attrs) {
      for (const v of Object.values(attrs)) {
        if (typeof v === 'string' ? v.toLowerCase().includes(q) : String(v) === q) {
          out.push(i);
          break;
        }
      }
    }
  }
  return Int32Array.from(out);
}

/** Where on the time axis [0, 1] a span sits, given a zoom window in ms offsets. */
export function barGeometry(
  model: TraceModel,
  s: WaterfallSpan,
  viewStart: number,
  viewEnd: number,
): { left: number; width: number } {
  const span = Math.max(viewEnd - viewStart, 1e-9);
  const from = displayStart(s) - model.start;
  const left = (from - viewStart) / span;
  const width = s.duration / span;
  return { left, width };
}

/** ms as people read them: 0.42 ms, 12.3 ms, 1.25 s, 2 min 5 s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const a = Math.abs(ms);
  if (a === 0) return '0';
  if (a < 1) return `${(ms * 1000).toFixed(a < 0.01 ? 1 : 0)} µs`;
  if (a < 10) return `${ms.toFixed(2)} ms`;
  if (a < 1000) return `${ms.toFixed(1)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const min = Math.floor(a / 60_000);
  return `${ms < 0 ? '-' : ''}${min} min ${Math.round((a % 60_000) / 1000)} s`;
}

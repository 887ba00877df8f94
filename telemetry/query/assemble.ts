import type { SpanRecord } from '../model/telemetry.ts';

/**
 * What assembly needs of a span. A full SpanRecord has it, and so does the outline a waterfall
 * loads first (details such as attributes come later, one span at a time).
 */
export type SpanShape = Pick<
  SpanRecord,
  | 'traceId'
  | 'spanId'
  | 'parentSpanId'
  | 'service'
  | 'instance'
  | 'name'
  | 'startUnixNano'
  | 'endUnixNano'
  | 'statusCode'
>;

export interface TraceNode<S extends SpanShape = SpanRecord> {
  readonly span: S;
  readonly children: TraceNode<S>[];
  readonly depth: number;
  /**
   * The span names a parent that is not in the trace (not received, evicted, or part of a parent
   * cycle); it is shown as a root instead of being dropped.
   */
  readonly orphan: boolean;
  /** Where to draw the span. Equal to the raw times unless adjusted for clock skew. */
  readonly displayStartUnixNano: bigint;
  readonly displayEndUnixNano: bigint;
  /** How far the span (and the events in it) were shifted for display; 0 when not adjusted. */
  readonly skewNs: bigint;
  readonly adjustedForSkew: boolean;
}

export interface TraceView<S extends SpanShape = SpanRecord> {
  readonly traceId: string;
  /** Every span once (a re-sent span is kept in its first stored form), oldest first, raw times. */
  readonly spans: readonly S[];
  /** Real roots first, then orphans, each by start time. */
  readonly roots: readonly TraceNode<S>[];
  /** Depth-first, children by display start: the order of a waterfall. */
  readonly nodes: readonly TraceNode<S>[];
  readonly byId: ReadonlyMap<string, TraceNode<S>>;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
  readonly durationNs: bigint;
  readonly services: readonly string[];
  readonly errorCount: number;
  readonly orphanCount: number;
  readonly skewAdjustedCount: number;
  /** Rows dropped because their span id had already been seen (exporter retries). */
  readonly duplicateCount: number;
}

interface Draft<S extends SpanShape> {
  readonly span: S;
  /** Service and instance: spans of one process share a clock. */
  readonly process: string;
  parent: Draft<S> | null;
  orphan: boolean;
  readonly children: Draft<S>[];
}

/** Start time, then span id: a total order, so the same spans always give the same tree. */
export function compareSpans(a: SpanShape, b: SpanShape): number {
  if (a.startUnixNano !== b.startUnixNano) return a.startUnixNano < b.startUnixNano ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
const byStart = <S extends SpanShape>(a: Draft<S>, b: Draft<S>) => compareSpans(a.span, b.span);

/**
 * How far to shift a child span so it sits inside its parent, the rule Jaeger's UI uses: only a
 * span from another process can be skewed (one process has one clock, and a same-process child
 * that outlives its parent is real asynchronous work). A child that fits is left alone; one that
 * does not is centred in its parent (network latency assumed equal both ways); one longer than
 * its parent can only be moved to start with it.
 */
function skewFor(childStart: bigint, childEnd: bigint, parentStart: bigint, parentEnd: bigint): bigint {
  const childDuration = childEnd - childStart;
  const parentDuration = parentEnd - parentStart;
  if (childStart >= parentStart && childEnd <= parentEnd) return 0n;
  if (childDuration > parentDuration) return childStart < parentStart ? parentStart - childStart : 0n;
  return parentStart + (parentDuration - childDuration) / 2n - childStart;
}

/**
 * Build the tree of one trace from its spans, whatever state they arrive in: duplicates, missing
 * parents, parent cycles and skewed clocks are all shown rather than rejected.
 */
export function assembleTrace<S extends SpanShape>(spans: readonly S[]): TraceView<S> | null {
  const drafts = new Map<string, Draft<S>>();
  let duplicateCount = 0;
  for (const span of spans) {
    if (drafts.has(span.spanId)) {
      duplicateCount++;
      continue;
    }
    drafts.set(span.spanId, {
      span,
      process: `${span.service}\u0000${span.instance ?? ''}`,
      parent: null,
      orphan: false,
      children: [],
    });
  }
  const first = drafts.values().next();
  if (first.done) return null;

  for (const d of drafts.values()) {
    const parentId = d.span.parentSpanId;
    if (parentId === null) continue;
    const parent = parentId === d.span.spanId ? undefined : drafts.get(parentId);
    if (parent) d.parent = parent;
    else d.orphan = true;
  }
  breakCycles(drafts);
  const roots: Draft<S>[] = [];
  for (const d of drafts.values()) {
    if (d.parent) d.parent.children.push(d);
    else roots.push(d);
  }
  roots.sort((a, b) => (a.orphan === b.orphan ? byStart(a, b) : a.orphan ? 1 : -1));

  const nodes: TraceNode<S>[] = [];
  const byId = new Map<string, TraceNode<S>>();
  const out: TraceNode<S>[] = [];
  // Iterative depth-first walk: traces can be thousands of spans deep.
  type Frame = {
    draft: Draft<S>;
    depth: number;
    parent: { node: TraceNode<S>; process: string } | null;
    into: TraceNode<S>[];
  };
  const stack: Frame[] = roots
    .slice()
    .reverse()
    .map((draft) => ({ draft, depth: 0, parent: null, into: out }));
  while (stack.length > 0) {
    const { draft, depth, parent, into } = stack.pop()!;
    const { span } = draft;
    // Roots are the reference clock; a same-process child moves with its parent's clock.
    const shift = !parent
      ? 0n
      : parent.process === draft.process
        ? parent.node.skewNs
        : skewFor(
            span.startUnixNano,
            span.endUnixNano,
            parent.node.displayStartUnixNano,
            parent.node.displayEndUnixNano,
          );
    const node: TraceNode<S> = {
      span,
      children: [],
      depth,
      orphan: draft.orphan,
      displayStartUnixNano: span.startUnixNano + shift,
      displayEndUnixNano: span.endUnixNano + shift,
      skewNs: shift,
      adjustedForSkew: shift !== 0n,
    };
    into.push(node);
    nodes.push(node);
    byId.set(span.spanId, node);
    // Children in raw start order; a same-process group keeps its order under a common shift.
    const children = draft.children.sort(byStart);
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({
        draft: children[i]!,
        depth: depth + 1,
        parent: { node, process: draft.process },
        into: node.children,
      });
    }
  }

  const kept = [...drafts.values()].map((d) => d.span).sort(compareSpans);
  let start = kept[0]!.startUnixNano;
  let end = kept[0]!.endUnixNano;
  for (const s of kept) {
    if (s.startUnixNano < start) start = s.startUnixNano;
    if (s.endUnixNano > end) end = s.endUnixNano;
  }
  return {
    traceId: first.value.span.traceId,
    spans: kept,
    roots: out,
    nodes,
    byId,
    startUnixNano: start,
    endUnixNano: end,
    durationNs: end - start,
    services: [...new Set(kept.map((s) => s.service))].sort(),
    errorCount: kept.filter((s) => s.statusCode === 'error').length,
    orphanCount: nodes.filter((n) => n.orphan).length,
    skewAdjustedCount: nodes.filter((n) => n.adjustedForSkew).length,
    duplicateCount,
  };
}

/**
 * Parent links that loop (a→b→a) leave no root to hang the loop from. Cut each loop at its
 * earliest span, which then counts as an orphan.
 */
function breakCycles<S extends SpanShape>(drafts: Map<string, Draft<S>>): void {
  const state = new Map<Draft<S>, 1 | 2>(); // 1: on the current path, 2: known to reach a root
  for (const start of drafts.values()) {
    const path: Draft<S>[] = [];
    let d: Draft<S> | null = start;
    while (d && state.get(d) === undefined) {
      state.set(d, 1);
      path.push(d);
      d = d.parent;
    }
    if (d && state.get(d) === 1) {
      const loop = path.slice(path.indexOf(d));
      const cut = loop.sort(byStart)[0]!;
      cut.parent = null;
      cut.orphan = true;
    }
    for (const p of path) state.set(p, 2);
  }
}

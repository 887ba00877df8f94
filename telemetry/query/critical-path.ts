import type { SpanShape, TraceNode as AnyTraceNode, TraceView as AnyTraceView } from './assemble.ts';

/** Works on full traces and on outlines alike. */
type TraceNode = AnyTraceNode<SpanShape>;
type TraceView = AnyTraceView<SpanShape>;

export interface CriticalSegment {
  readonly spanId: string;
  readonly service: string;
  readonly name: string;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
  readonly durationNs: bigint;
}

export interface CriticalPath {
  readonly rootSpanId: string;
  /** Chronological; together they cover the root span from its start to its end. */
  readonly segments: readonly CriticalSegment[];
  /** Time each span spends on the path, largest first: where to look to make the trace faster. */
  readonly bySpan: readonly { spanId: string; service: string; name: string; durationNs: bigint }[];
}

interface Window {
  readonly node: TraceNode;
  readonly start: bigint;
  readonly end: bigint;
  readonly children: Window[];
}

/**
 * Clip each child to its parent (on skew-adjusted display times) and drop children that lie
 * wholly outside it: work after the parent has finished cannot delay the parent.
 */
function clip(node: TraceNode, start: bigint, end: bigint): Window {
  const children: Window[] = [];
  for (const child of node.children) {
    const s = child.displayStartUnixNano > start ? child.displayStartUnixNano : start;
    const e = child.displayEndUnixNano < end ? child.displayEndUnixNano : end;
    if (s < e) children.push(clip(child, s, e));
  }
  return { node, start, end, children };
}

/**
 * The critical path, as Jaeger computes it: walk back from the end of the root; at each point the
 * child that finished last (before that point) is what the parent was waiting for, and the gaps
 * between such children are the parent's own time. The segments cover the root end to end.
 */
export function criticalPath(trace: TraceView, rootSpanId?: string): CriticalPath | null {
  const root =
    rootSpanId === undefined
      ? (trace.roots.find((r) => !r.orphan) ??
        [...trace.roots].sort((a, b) =>
          Number(
            b.displayEndUnixNano - b.displayStartUnixNano - (a.displayEndUnixNano - a.displayStartUnixNano),
          ),
        )[0])
      : trace.byId.get(rootSpanId);
  if (!root) return null;
  const top = clip(root, root.displayStartUnixNano, root.displayEndUnixNano);
  const reversed: CriticalSegment[] = [];
  const push = (w: Window, start: bigint, end: bigint) => {
    if (end <= start) return;
    const { span } = w.node;
    reversed.push({
      spanId: span.spanId,
      service: span.service,
      name: span.name,
      startUnixNano: start,
      endUnixNano: end,
      durationNs: end - start,
    });
  };
  // Explicit stack of (window, the point in time we are walking back from).
  const stack: { w: Window; until: bigint }[] = [{ w: top, until: top.end }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const { w, until } = frame;
    let last: Window | null = null;
    // Of children that finished by `until`, the last to finish; on a tie the longer one, which
    // the parent was waiting on longer. `start < until` guarantees the walk moves back in time.
    for (const c of w.children) {
      if (c.end > until || c.start >= until) continue;
      if (last === null || c.end > last.end || (c.end === last.end && c.start < last.start)) last = c;
    }
    if (last === null) {
      push(w, w.start, until);
      stack.pop();
      continue;
    }
    push(w, last.end, until);
    frame.until = last.start;
    stack.push({ w: last, until: last.end });
  }
  const segments = reversed.reverse();
  const totals = new Map<string, { spanId: string; service: string; name: string; durationNs: bigint }>();
  for (const s of segments) {
    const t = totals.get(s.spanId) ?? { spanId: s.spanId, service: s.service, name: s.name, durationNs: 0n };
    t.durationNs += s.durationNs;
    totals.set(s.spanId, t);
  }
  return {
    rootSpanId: root.span.spanId,
    segments,
    bySpan: [...totals.values()].sort((a, b) =>
      a.durationNs === b.durationNs ? 0 : a.durationNs > b.durationNs ? -1 : 1,
    ),
  };
}

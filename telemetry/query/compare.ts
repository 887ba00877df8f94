import type { StatusCode } from '../model/telemetry.ts';
import type { SpanShape, TraceNode as AnyTraceNode, TraceView as AnyTraceView } from './assemble.ts';

/** Works on full traces and on outlines alike. */
type TraceNode = AnyTraceNode<SpanShape>;
type TraceView = AnyTraceView<SpanShape>;

export interface MatchedSpan {
  /** Position in the tree: the service:name path from the root, with an ordinal among like siblings. */
  readonly key: string;
  readonly service: string;
  readonly name: string;
  readonly spanIdA: string;
  readonly spanIdB: string;
  readonly durationNsA: bigint;
  readonly durationNsB: bigint;
  /** B minus A: positive means slower in B. */
  readonly deltaNs: bigint;
  readonly statusA: StatusCode;
  readonly statusB: StatusCode;
}

export interface UnmatchedSpan {
  readonly key: string;
  readonly service: string;
  readonly name: string;
  readonly spanId: string;
  readonly durationNs: bigint;
}

export interface TraceComparison {
  readonly traceIdA: string;
  readonly traceIdB: string;
  readonly durationNsA: bigint;
  readonly durationNsB: bigint;
  readonly durationDeltaNs: bigint;
  /** In A's waterfall order (depth first). */
  readonly matched: readonly MatchedSpan[];
  /** In B only. */
  readonly added: readonly UnmatchedSpan[];
  /** In A only. */
  readonly removed: readonly UnmatchedSpan[];
}

/**
 * Each span's structural key: its parent's key, then `service:name#n` where n counts earlier
 * siblings (by start) with the same service and name. Retries and fan-out get #0, #1…, so the
 * third call to users in A meets the third call to users in B.
 */
function keyed(trace: TraceView): Map<string, TraceNode> {
  const keys = new Map<TraceNode, string>();
  const label = (n: TraceNode) => `${n.span.service}:${n.span.name}`;
  const name = (siblings: readonly TraceNode[], prefix: string) => {
    const seen = new Map<string, number>();
    for (const node of siblings) {
      const n = seen.get(label(node)) ?? 0;
      seen.set(label(node), n + 1);
      keys.set(node, `${prefix}/${label(node)}#${n}`);
    }
  };
  name(trace.roots, '');
  // trace.nodes is depth-first, so a parent is always keyed before its children.
  for (const node of trace.nodes) name(node.children, keys.get(node)!);
  return new Map(trace.nodes.map((node) => [keys.get(node)!, node]));
}

const duration = (n: TraceNode) => n.span.endUnixNano - n.span.startUnixNano;

/** Compare two traces' structure and durations (a baseline A against a run under chaos B). */
export function compareTraces(a: TraceView, b: TraceView): TraceComparison {
  const ka = keyed(a);
  const kb = keyed(b);
  const matched: MatchedSpan[] = [];
  const removed: UnmatchedSpan[] = [];
  const unmatched = (key: string, n: TraceNode): UnmatchedSpan => ({
    key,
    service: n.span.service,
    name: n.span.name,
    spanId: n.span.spanId,
    durationNs: duration(n),
  });
  for (const [key, na] of ka) {
    const nb = kb.get(key);
    if (!nb) {
      removed.push(unmatched(key, na));
      continue;
    }
    matched.push({
      key,
      service: na.span.service,
      name: na.span.name,
      spanIdA: na.span.spanId,
      spanIdB: nb.span.spanId,
      durationNsA: duration(na),
      durationNsB: duration(nb),
      deltaNs: duration(nb) - duration(na),
      statusA: na.span.statusCode,
      statusB: nb.span.statusCode,
    });
  }
  const added = [...kb].filter(([key]) => !ka.has(key)).map(([key, n]) => unmatched(key, n));
  return {
    traceIdA: a.traceId,
    traceIdB: b.traceId,
    durationNsA: a.durationNs,
    durationNsB: b.durationNs,
    durationDeltaNs: b.durationNs - a.durationNs,
    matched,
    added,
    removed,
  };
}

/**
 * A trace outline (telemetry/query getTraceOutline) in the contract's packed form: columns of
 * small numbers and dictionaries instead of one object per span. JSON of 50,000 span objects is
 * most of what made a big trace slow to open (23 MB to send, parse and validate); the columns
 * carry the same tree and timings in about a tenth of that.
 */
import { OUTLINE_KINDS, OUTLINE_STATUSES, type TraceOutline } from '../../api/insight-commands.ts';
import type { SpanOutline, TraceView } from '../../../telemetry/query/index.ts';

/** ns → ms, to microseconds (what the rest of the contract uses). */
const ms = (ns: bigint): number => Number(ns / 1000n) / 1000;

export function packOutline(view: TraceView<SpanOutline>): TraceOutline {
  const n = view.nodes.length;
  const origin = view.startUnixNano;
  const serviceIndex = new Map(view.services.map((s, i) => [s, i]));
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const instances: string[] = [];
  const instanceIndex = new Map<string, number>();
  const kindIndex = new Map<string, number>(OUTLINE_KINDS.map((k, i) => [k, i]));
  const statusIndex = new Map<string, number>(OUTLINE_STATUSES.map((s, i) => [s, i]));
  const indexOf = new Map<string, number>();
  view.nodes.forEach((node, i) => indexOf.set(node.span.spanId, i));

  const ids: string[] = new Array<string>(n);
  const parent = new Array<number>(n);
  const depth = new Array<number>(n);
  const service = new Array<number>(n);
  const instance = new Array<number>(n);
  const name = new Array<number>(n);
  const kind = new Array<number>(n);
  const status = new Array<number>(n);
  const start = new Array<number>(n);
  const duration = new Array<number>(n);
  const skew = new Array<number>(n);
  const orphans: TraceOutline['orphans'] = [];
  const statusMessages: TraceOutline['statusMessages'] = [];
  const events: TraceOutline['events'] = [];
  const linkCounts: TraceOutline['linkCounts'] = [];

  for (let i = 0; i < n; i++) {
    const node = view.nodes[i]!;
    const s = node.span;
    ids[i] = s.spanId;
    const p = node.orphan || s.parentSpanId === null ? -1 : (indexOf.get(s.parentSpanId) ?? -1);
    parent[i] = p;
    if (node.orphan && s.parentSpanId !== null) orphans.push({ index: i, parentId: s.parentSpanId });
    depth[i] = node.depth;
    service[i] = serviceIndex.get(s.service) ?? 0;
    if (s.instance === null) instance[i] = -1;
    else {
      let k = instanceIndex.get(s.instance);
      if (k === undefined) instanceIndex.set(s.instance, (k = instances.push(s.instance) - 1));
      instance[i] = k;
    }
    let k = nameIndex.get(s.name);
    if (k === undefined) nameIndex.set(s.name, (k = names.push(s.name) - 1));
    name[i] = k;
    kind[i] = kindIndex.get(s.kind) ?? 0;
    status[i] = statusIndex.get(s.statusCode) ?? 0;
    start[i] = ms(s.startUnixNano - origin);
    duration[i] = ms(s.endUnixNano - s.startUnixNano);
    skew[i] = ms(node.skewNs);
    if (s.statusMessage !== null) statusMessages.push({ index: i, message: s.statusMessage });
    for (const e of s.eventMarks) events.push({ index: i, time: ms(e.timeUnixNano - origin), name: e.name });
    if (s.linkCount > 0) linkCounts.push({ index: i, count: s.linkCount });
  }

  return {
    traceId: view.traceId,
    start: ms(origin),
    duration: ms(view.durationNs),
    spanCount: n,
    services: [...view.services],
    errorCount: view.errorCount,
    orphanCount: view.orphanCount,
    skewAdjustedCount: view.skewAdjustedCount,
    duplicateCount: view.duplicateCount,
    columns: {
      spanIds: ids.join(''),
      parent,
      depth,
      service,
      instance,
      name,
      kind,
      status,
      start,
      duration,
      skew,
    },
    dictionary: { names, instances },
    orphans,
    statusMessages,
    events,
    linkCounts,
  };
}

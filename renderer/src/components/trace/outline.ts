/**
 * A packed trace outline (`traces.outline`: columns and dictionaries) back into the span rows the
 * waterfall and the comparison draw. One pass, one small object per span; attributes, resource,
 * events' attributes and links are not here: they come per span with `traces.span`.
 */
import {
  OUTLINE_KINDS,
  OUTLINE_STATUSES,
  type TraceOutline,
} from '../../../../electron/api/insight-commands.ts';
import type { WaterfallSpan } from './waterfall-model.ts';

export interface OutlineSpan extends WaterfallSpan {
  readonly linkCount: number;
}

export type OutlineSummary = Omit<
  TraceOutline,
  'columns' | 'dictionary' | 'orphans' | 'statusMessages' | 'events' | 'linkCounts'
>;

export function unpackOutline(outline: TraceOutline): { summary: OutlineSummary; spans: OutlineSpan[] } {
  const { columns: c, dictionary, start: origin } = outline;
  const n = outline.spanCount;
  const ids = c.spanIds;
  const orphanParent = new Map(outline.orphans.map((o) => [o.index, o.parentId]));
  const messages = new Map(outline.statusMessages.map((m) => [m.index, m.message]));
  const links = new Map(outline.linkCounts.map((l) => [l.index, l.count]));
  const events = new Map<number, { time: number; name: string; attributes: Record<string, never> }[]>();
  for (const e of outline.events) {
    let list = events.get(e.index);
    if (!list) events.set(e.index, (list = []));
    list.push({ time: origin + e.time, name: e.name, attributes: {} });
  }
  const spans: OutlineSpan[] = new Array<OutlineSpan>(n);
  for (let i = 0; i < n; i++) {
    const p = c.parent[i]!;
    const instance = c.instance[i]!;
    spans[i] = {
      spanId: ids.slice(i * 16, i * 16 + 16),
      parentId: p >= 0 ? ids.slice(p * 16, p * 16 + 16) : (orphanParent.get(i) ?? null),
      service: outline.services[c.service[i]!]!,
      instance: instance >= 0 ? dictionary.instances[instance]! : null,
      name: dictionary.names[c.name[i]!]!,
      kind: OUTLINE_KINDS[c.kind[i]!]!,
      start: origin + c.start[i]!,
      duration: c.duration[i]!,
      status: OUTLINE_STATUSES[c.status[i]!]!,
      statusMessage: messages.get(i) ?? null,
      depth: c.depth[i]!,
      orphan: orphanParent.has(i),
      skew: c.skew[i]!,
      ...(events.has(i) ? { events: events.get(i)! } : {}),
      linkCount: links.get(i) ?? 0,
    };
  }
  const {
    columns: _c,
    dictionary: _d,
    orphans: _o,
    statusMessages: _m,
    events: _e,
    linkCounts: _l,
    ...summary
  } = outline;
  return { summary, spans };
}

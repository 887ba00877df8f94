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

/** Shared by every span without events (never written to). */
const NO_EVENTS: never[] = [];

export type OutlineSummary = Omit<
  TraceOutline,
  'columns' | 'dictionary' | 'orphans' | 'statusMessages' | 'events' | 'linkCounts'
>;

export function unpackOutline(outline: TraceOutline): { summary: OutlineSummary; spans: OutlineSpan[] } {
  const { columns: c, dictionary, start: origin } = outline;
  const n = outline.spanCount;
  const ids = c.spanIds;
  // Sparse extras spread into per-span slots first, so the loop below does no map lookups and
  // every span object has the same shape (one hidden class: cheaper to make and to read).
  const orphanParent = new Array<string | null>(n).fill(null);
  for (const o of outline.orphans) orphanParent[o.index] = o.parentId;
  const messages = new Array<string | null>(n).fill(null);
  for (const m of outline.statusMessages) messages[m.index] = m.message;
  const links = new Int32Array(n);
  for (const l of outline.linkCounts) links[l.index] = l.count;
  const events = new Array<{ time: number; name: string; attributes: Record<string, never> }[] | undefined>(
    n,
  );
  for (const e of outline.events)
    (events[e.index] ??= []).push({ time: origin + e.time, name: e.name, attributes: {} });
  const services = outline.services;
  const names = dictionary.names;
  const instances = dictionary.instances;
  const spans: OutlineSpan[] = new Array<OutlineSpan>(n);
  for (let i = 0; i < n; i++) {
    const p = c.parent[i]!;
    const instance = c.instance[i]!;
    const orphan = orphanParent[i]!;
    spans[i] = {
      spanId: ids.slice(i * 16, i * 16 + 16),
      parentId: p >= 0 ? ids.slice(p * 16, p * 16 + 16) : orphan,
      service: services[c.service[i]!]!,
      instance: instance >= 0 ? instances[instance]! : null,
      name: names[c.name[i]!]!,
      kind: OUTLINE_KINDS[c.kind[i]!]!,
      start: origin + c.start[i]!,
      duration: c.duration[i]!,
      status: OUTLINE_STATUSES[c.status[i]!]!,
      statusMessage: messages[i]!,
      depth: c.depth[i]!,
      orphan: orphan !== null,
      skew: c.skew[i]!,
      events: events[i] ?? NO_EVENTS,
      linkCount: links[i]!,
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

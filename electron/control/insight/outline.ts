/**
 * A trace outline (telemetry/query getOutlineColumns: typed columns in waterfall order) in the
 * contract's packed form: columns of small numbers and dictionaries instead of one object per
 * span. JSON of 50,000 span objects is most of what made a big trace slow to open (23 MB to send,
 * parse and validate); the columns carry the same tree and timings in about a tenth of that.
 */
import { OUTLINE_KINDS, OUTLINE_STATUSES, type TraceOutline } from '../../api/insight-commands.ts';
import {
  OUTLINE_SPAN_KINDS,
  OUTLINE_STATUS_CODES,
  type OutlineColumns,
} from '../../../telemetry/query/index.ts';

/** The query's code for a kind or status → the contract's (the same today; a table keeps them apart). */
const remap = (from: readonly string[], to: readonly string[]) =>
  Uint8Array.from(from, (name) => Math.max(0, to.indexOf(name)));
const KIND_CODE = remap(OUTLINE_SPAN_KINDS, OUTLINE_KINDS);
const STATUS_CODE = remap(OUTLINE_STATUS_CODES, OUTLINE_STATUSES);

export function packOutline(c: OutlineColumns): TraceOutline {
  return {
    traceId: c.traceId,
    start: c.startMs,
    duration: c.durationMs,
    spanCount: c.spanCount,
    services: [...c.services],
    errorCount: c.errorCount,
    orphanCount: c.orphanCount,
    skewAdjustedCount: c.skewAdjustedCount,
    duplicateCount: c.duplicateCount,
    columns: {
      spanIds: c.spanIds,
      parent: Array.from(c.parent),
      depth: Array.from(c.depth),
      service: Array.from(c.service),
      instance: Array.from(c.instance),
      name: Array.from(c.name),
      kind: Array.from(c.kind, (k) => KIND_CODE[k]!),
      status: Array.from(c.status, (s) => STATUS_CODE[s]!),
      start: Array.from(c.start),
      duration: Array.from(c.duration),
      skew: Array.from(c.skew),
    },
    dictionary: { names: [...c.names], instances: [...c.instances] },
    orphans: [...c.orphans],
    statusMessages: [...c.statusMessages],
    events: [...c.events],
    linkCounts: [...c.linkCounts],
  };
}

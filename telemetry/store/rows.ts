import { DOUBLE, LIST, UBIGINT, VARCHAR, type DuckDBAppender } from '@duckdb/node-api';
import type {
  Attributes,
  LogRecord,
  MetricPoint,
  SpanEvent,
  SpanLink,
  SpanRecord,
} from '../model/telemetry.ts';
import { parentSpanIdToBigInt, spanIdToBigInt, traceIdToBigInt } from './ids.ts';
import { SERVICE_NAMES_SEPARATOR } from './schema.ts';

/**
 * Records become rows when they are queued, not when they are committed: a malformed record then
 * fails its own caller's promise instead of poisoning a group commit shared with other callers.
 * The checks are the ones the columns need (ids, enums, bigint times); receivers validate the rest.
 */
export interface SpanRow {
  readonly traceId: bigint;
  readonly spanId: bigint;
  readonly parentSpanId: bigint | null;
  readonly service: string;
  readonly instance: string | null;
  readonly name: string;
  readonly kind: string;
  readonly startNs: bigint;
  readonly durationNs: bigint;
  readonly status: string;
  readonly statusMessage: string | null;
  readonly httpRoute: string | null;
  readonly peerService: string | null;
  readonly attributes: string;
  readonly resource: string;
  readonly scopeName: string | null;
  readonly scopeVersion: string | null;
  readonly events: string | null;
  readonly links: string | null;
}

/**
 * One trace's share of one appended batch: the time range its spans there cover and their summary
 * (see schema.ts, migration 3).
 */
export interface TraceIndexRow {
  readonly traceId: bigint;
  startNs: bigint;
  endNs: bigint;
  lastEndNs: bigint;
  readonly spanIds: Set<bigint>;
  readonly errorSpanIds: Set<bigint>;
  readonly services: Set<string>;
  /** The batch's best root candidate: first by (has a parent, start, span id). */
  root: SpanRow;
}

export interface MetricRow {
  readonly service: string;
  readonly instance: string | null;
  readonly name: string;
  readonly kind: string;
  readonly unit: string | null;
  readonly timeNs: bigint;
  readonly value: number | null;
  readonly histCount: number | null;
  readonly histSum: number | null;
  readonly histBounds: readonly number[] | null;
  readonly histCounts: readonly number[] | null;
  readonly attributes: string;
}

export interface LogRow {
  readonly service: string;
  readonly instance: string | null;
  readonly timeNs: bigint;
  readonly severityNumber: number;
  readonly severityText: string | null;
  readonly body: string;
  readonly traceId: bigint | null;
  readonly spanId: bigint | null;
  readonly eventName: string | null;
  readonly attributes: string;
}

const SPAN_KINDS = new Set(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);
const STATUS_CODES = new Set(['unset', 'ok', 'error']);
const METRIC_KINDS = new Set(['gauge', 'sum', 'histogram']);

export class InvalidRecordError extends TypeError {
  override readonly name = 'InvalidRecordError';
}

function requireBigInt(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint') throw new InvalidRecordError(`${what} must be a bigint of Unix nanoseconds`);
  return value;
}

function stringAttribute(attributes: Attributes, key: string): string | null {
  const value = attributes[key];
  return typeof value === 'string' ? value : null;
}

/** Events and links keep their bigint times as decimal strings inside the JSON. */
export function eventsToJson(events: readonly SpanEvent[]): string | null {
  if (events.length === 0) return null;
  let out = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) out += ',';
    out += `{"timeUnixNano":"${requireBigInt(e.timeUnixNano, 'event time')}","name":${JSON.stringify(e.name)},"attributes":${JSON.stringify(e.attributes)}}`;
  }
  return out + ']';
}

export function linksToJson(links: readonly SpanLink[]): string | null {
  if (links.length === 0) return null;
  return JSON.stringify(
    links.map((l) => {
      traceIdToBigInt(l.traceId);
      spanIdToBigInt(l.spanId);
      return { traceId: l.traceId.toLowerCase(), spanId: l.spanId.toLowerCase(), attributes: l.attributes };
    }),
  );
}

export function toSpanRow(span: SpanRecord): SpanRow {
  if (!SPAN_KINDS.has(span.kind))
    throw new InvalidRecordError(`unknown span kind ${JSON.stringify(span.kind)}`);
  if (!STATUS_CODES.has(span.statusCode)) {
    throw new InvalidRecordError(`unknown status code ${JSON.stringify(span.statusCode)}`);
  }
  const start = requireBigInt(span.startUnixNano, 'span start');
  const end = requireBigInt(span.endUnixNano, 'span end');
  return {
    traceId: traceIdToBigInt(span.traceId),
    spanId: spanIdToBigInt(span.spanId),
    parentSpanId: parentSpanIdToBigInt(span.parentSpanId),
    service: span.service,
    instance: span.instance,
    name: span.name,
    kind: span.kind,
    startNs: start,
    durationNs: end - start,
    status: span.statusCode,
    statusMessage: span.statusMessage,
    httpRoute: stringAttribute(span.attributes, 'http.route'),
    peerService: stringAttribute(span.attributes, 'peer.service'),
    attributes: JSON.stringify(span.attributes),
    resource: JSON.stringify(span.resource),
    scopeName: span.scope?.name ?? null,
    scopeVersion: span.scope?.version ?? null,
    events: eventsToJson(span.events),
    links: linksToJson(span.links),
  };
}

/** Orders root candidates: spans without a parent first, then by start, then by span id. */
function beforeAsRoot(a: SpanRow, b: SpanRow): boolean {
  const aChild = a.parentSpanId !== null;
  const bChild = b.parentSpanId !== null;
  if (aChild !== bChild) return bChild;
  if (a.startNs !== b.startNs) return a.startNs < b.startNs;
  return a.spanId < b.spanId;
}

export function toTraceIndexRows(rows: readonly SpanRow[]): TraceIndexRow[] {
  const byTrace = new Map<bigint, TraceIndexRow>();
  for (const r of rows) {
    const end = r.startNs + r.durationNs;
    let entry = byTrace.get(r.traceId);
    if (!entry) {
      entry = {
        traceId: r.traceId,
        startNs: r.startNs,
        endNs: end > r.startNs ? end : r.startNs,
        lastEndNs: end,
        spanIds: new Set(),
        errorSpanIds: new Set(),
        services: new Set(),
        root: r,
      };
      byTrace.set(r.traceId, entry);
    } else {
      if (r.startNs < entry.startNs) entry.startNs = r.startNs;
      if (end > entry.endNs) entry.endNs = end;
      if (end > entry.lastEndNs) entry.lastEndNs = end;
      if (beforeAsRoot(r, entry.root)) entry.root = r;
    }
    entry.spanIds.add(r.spanId);
    if (r.status === 'error') entry.errorSpanIds.add(r.spanId);
    entry.services.add(r.service);
  }
  return [...byTrace.values()];
}

export function toMetricRow(point: MetricPoint): MetricRow {
  if (!METRIC_KINDS.has(point.kind))
    throw new InvalidRecordError(`unknown metric kind ${JSON.stringify(point.kind)}`);
  const h = point.histogram;
  return {
    service: point.service,
    instance: point.instance,
    name: point.name,
    kind: point.kind,
    unit: point.unit,
    timeNs: requireBigInt(point.timeUnixNano, 'metric time'),
    value: point.value,
    histCount: h?.count ?? null,
    histSum: h?.sum ?? null,
    histBounds: h?.bounds ?? null,
    histCounts: h?.counts ?? null,
    attributes: JSON.stringify(point.attributes),
  };
}

export function toLogRow(record: LogRecord): LogRow {
  if (!Number.isInteger(record.severityNumber))
    throw new InvalidRecordError('severityNumber must be an integer');
  return {
    service: record.service,
    instance: record.instance,
    timeNs: requireBigInt(record.timeUnixNano, 'log time'),
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    body: record.body,
    traceId: record.traceId ? traceIdToBigInt(record.traceId) : null,
    spanId: record.spanId ? spanIdToBigInt(record.spanId) : null,
    eventName: stringAttribute(record.attributes, 'event.name'),
    attributes: JSON.stringify(record.attributes),
  };
}

function varcharOrNull(a: DuckDBAppender, value: string | null): void {
  if (value === null) a.appendNull();
  else a.appendVarchar(value);
}

function doubleOrNull(a: DuckDBAppender, value: number | null): void {
  if (value === null) a.appendNull();
  else a.appendDouble(value);
}

const DOUBLE_LIST = LIST(DOUBLE);

/** In schema.ts SPAN_COLUMNS order. */
export function appendSpanRow(a: DuckDBAppender, r: SpanRow): void {
  a.appendUHugeInt(r.traceId);
  a.appendUBigInt(r.spanId);
  if (r.parentSpanId === null) a.appendNull();
  else a.appendUBigInt(r.parentSpanId);
  a.appendVarchar(r.service);
  varcharOrNull(a, r.instance);
  a.appendVarchar(r.name);
  a.appendVarchar(r.kind);
  a.appendBigInt(r.startNs);
  a.appendBigInt(r.durationNs);
  a.appendVarchar(r.status);
  varcharOrNull(a, r.statusMessage);
  varcharOrNull(a, r.httpRoute);
  varcharOrNull(a, r.peerService);
  a.appendVarchar(r.attributes);
  a.appendVarchar(r.resource);
  varcharOrNull(a, r.scopeName);
  varcharOrNull(a, r.scopeVersion);
  varcharOrNull(a, r.events);
  varcharOrNull(a, r.links);
  a.endRow();
}

const UBIGINT_LIST = LIST(UBIGINT);
const VARCHAR_LIST = LIST(VARCHAR);

/** In schema.ts TRACE_INDEX_COLUMNS order, then migration 4's columns. */
export function appendTraceIndexRow(a: DuckDBAppender, r: TraceIndexRow): void {
  a.appendUHugeInt(r.traceId);
  a.appendBigInt(r.startNs);
  a.appendBigInt(r.endNs);
  a.appendBigInt(r.lastEndNs);
  a.appendList([...r.spanIds], UBIGINT_LIST);
  a.appendList([...r.errorSpanIds], UBIGINT_LIST);
  a.appendList([...r.services], VARCHAR_LIST);
  a.appendBoolean(r.root.parentSpanId !== null);
  a.appendBigInt(r.root.startNs);
  a.appendUBigInt(r.root.spanId);
  a.appendVarchar(r.root.service);
  a.appendVarchar(r.root.name);
  a.appendInteger(r.spanIds.size);
  a.appendInteger(r.errorSpanIds.size);
  a.appendVarchar([...r.services].sort().join(SERVICE_NAMES_SEPARATOR));
  a.endRow();
}

export function appendMetricRow(a: DuckDBAppender, r: MetricRow): void {
  a.appendVarchar(r.service);
  varcharOrNull(a, r.instance);
  a.appendVarchar(r.name);
  a.appendVarchar(r.kind);
  varcharOrNull(a, r.unit);
  a.appendBigInt(r.timeNs);
  doubleOrNull(a, r.value);
  doubleOrNull(a, r.histCount);
  doubleOrNull(a, r.histSum);
  if (r.histBounds === null) a.appendNull();
  else a.appendList(r.histBounds, DOUBLE_LIST);
  if (r.histCounts === null) a.appendNull();
  else a.appendList(r.histCounts, DOUBLE_LIST);
  a.appendVarchar(r.attributes);
  a.endRow();
}

export function appendLogRow(a: DuckDBAppender, r: LogRow): void {
  a.appendVarchar(r.service);
  varcharOrNull(a, r.instance);
  a.appendBigInt(r.timeNs);
  a.appendInteger(r.severityNumber);
  varcharOrNull(a, r.severityText);
  a.appendVarchar(r.body);
  if (r.traceId === null) a.appendNull();
  else a.appendUHugeInt(r.traceId);
  if (r.spanId === null) a.appendNull();
  else a.appendUBigInt(r.spanId);
  varcharOrNull(a, r.eventName);
  a.appendVarchar(r.attributes);
  a.endRow();
}

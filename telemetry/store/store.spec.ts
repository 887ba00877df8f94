import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord, MetricPoint, SpanRecord } from '../model/telemetry.ts';
import { getTraceSpans } from '../query/trace.ts';
import { MS, span, spanId, T0, traceId } from './fixtures/spans.ts';
import {
  InvalidIdError,
  StoreBusyError,
  StoreClosedError,
  TelemetryStore,
  type StoreOptions,
} from './index.ts';

const dirs: string[] = [];
const stores: TelemetryStore[] = [];

async function openStore(options: Partial<StoreOptions> = {}, dir?: string): Promise<TelemetryStore> {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'chaoscope-store-'));
    dirs.push(dir);
  }
  const store = await TelemetryStore.open({ path: join(dir, 'telemetry.duckdb'), ...options });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function count(store: TelemetryStore, table = 'spans'): Promise<number> {
  const [row] = await store.reader().rows(`SELECT count(*) AS n FROM ${table}`);
  return Number(row?.n);
}

const batch = (trace: number, size: number): SpanRecord[] =>
  Array.from({ length: size }, (_, i) =>
    span({ traceId: traceId(trace), spanId: spanId(trace * 1000 + i + 1), startMs: i, durationMs: 1 }),
  );

describe('TelemetryStore', () => {
  it('stores spans with events and links and reads them back unchanged', async () => {
    const store = await openStore();
    const root = span({
      traceId: 'abcdef0123456789abcdef0123456789',
      spanId: '0123456789abcdef',
      service: 'gateway',
      name: 'GET /api/timeline',
      startMs: 0,
      durationMs: 42.5,
      statusCode: 'error',
      statusMessage: 'upstream timeout',
      attributes: {
        'http.route': '/api/timeline',
        'http.response.status_code': 504,
        ratio: 0.25,
        ok: false,
        tags: ['a', 'b'],
        nested: { deep: [1, { x: null }] },
        'quote"key': 'line\nbreak ✓',
      },
      events: [
        {
          timeUnixNano: T0 + 5n * MS + 123n,
          name: 'breaker.transition',
          attributes: { 'breaker.name': 'gateway→users', 'breaker.from': 'closed', 'breaker.to': 'open' },
        },
        { timeUnixNano: T0 + 40n * MS, name: 'exception', attributes: { 'exception.message': 'boom' } },
      ],
      links: [
        {
          traceId: 'ffffffffffffffffffffffffffffffff',
          spanId: 'fedcba9876543210',
          attributes: { why: 'retry' },
        },
      ],
    });
    const child = span({
      traceId: root.traceId,
      spanId: '1111111111111111',
      parentSpanId: root.spanId,
      service: 'users',
      instance: null,
      kind: 'client',
      scope: null,
      startMs: 1,
      durationMs: 10,
    });
    // Free text with the read path's separator and escape characters in it, and '' beside null.
    const hostile = span({
      traceId: root.traceId,
      spanId: '2222222222222222',
      parentSpanId: root.spanId,
      service: 'we\\ird\u001fservice',
      instance: '',
      name: 'a\u001fb\\u\\',
      statusMessage: '\\u001f\u001f',
      scope: { name: '', version: '\u001f' },
      startMs: 2,
      durationMs: 0,
    });
    await store.appendSpans([root, child, hostile]);
    expect(await getTraceSpans(store.reader(), root.traceId)).toEqual([root, child, hostile]);

    const [row] = await store
      .reader()
      .rows(
        `SELECT service, name, kind, status, http_route, start_ns, duration_ns FROM spans WHERE span_id = ${0x0123456789abcdefn}::UBIGINT`,
      );
    expect(row).toEqual({
      service: 'gateway',
      name: 'GET /api/timeline',
      kind: 'server',
      status: 'error',
      http_route: '/api/timeline',
      start_ns: T0,
      duration_ns: 42_500_000n,
    });
  });

  it('stores metric points and log records', async () => {
    const store = await openStore();
    const gauge: MetricPoint = {
      service: 'gateway',
      instance: 'gateway-1',
      name: 'breaker.state',
      kind: 'gauge',
      unit: null,
      timeUnixNano: T0,
      value: 1,
      histogram: null,
      attributes: { 'breaker.name': 'gateway→users' },
    };
    const histogram: MetricPoint = {
      service: 'users',
      instance: null,
      name: 'http.server.request.duration',
      kind: 'histogram',
      unit: 's',
      timeUnixNano: T0 + MS,
      value: null,
      histogram: { count: 6, sum: 0.9, bounds: [0.1, 0.5], counts: [3, 2, 1] },
      attributes: {},
    };
    const log: LogRecord = {
      service: 'gateway',
      instance: 'gateway-1',
      timeUnixNano: T0 + 2n * MS,
      severityNumber: 13,
      severityText: 'WARN',
      body: 'breaker opened',
      traceId: traceId(7),
      spanId: spanId(8),
      attributes: { 'event.name': 'breaker.transition' },
    };
    await Promise.all([store.appendMetrics([gauge, histogram]), store.appendLogs([log])]);
    expect(
      await store
        .reader()
        .rows(
          'SELECT service, name, kind, unit, time_ns, value, hist_count, hist_sum, hist_bounds, hist_counts, attributes FROM metric_points ORDER BY time_ns',
        ),
    ).toEqual([
      {
        service: 'gateway',
        name: 'breaker.state',
        kind: 'gauge',
        unit: null,
        time_ns: T0,
        value: 1,
        hist_count: null,
        hist_sum: null,
        hist_bounds: null,
        hist_counts: null,
        attributes: '{"breaker.name":"gateway→users"}',
      },
      {
        service: 'users',
        name: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        time_ns: T0 + MS,
        value: null,
        hist_count: 6,
        hist_sum: 0.9,
        hist_bounds: [0.1, 0.5],
        hist_counts: [3, 2, 1],
        attributes: '{}',
      },
    ]);
    expect(
      await store
        .reader()
        .rows('SELECT severity_number, severity_text, body, trace_id, span_id, event_name FROM log_records'),
    ).toEqual([
      {
        severity_number: 13,
        severity_text: 'WARN',
        body: 'breaker opened',
        trace_id: 7n,
        span_id: 8n,
        event_name: 'breaker.transition',
      },
    ]);
  });

  it('commits concurrent appends together and resolves them only once committed', async () => {
    const store = await openStore({ flush: { maxRows: 100_000, maxDelayMs: 100 } });
    const before = (await store.stats()).commits;
    const calls = Array.from({ length: 40 }, (_, i) => store.appendSpans(batch(i + 1, 10)));
    let settled = 0;
    for (const c of calls) void c.then(() => settled++);
    await new Promise((r) => setTimeout(r, 20));
    // Nothing is acknowledged, and nothing is visible, before the shared commit.
    expect(settled).toBe(0);
    expect(await count(store)).toBe(0);
    await Promise.all(calls);
    expect(await count(store)).toBe(400);
    expect((await store.stats()).commits - before).toBe(1);
  });

  it('caps a group at maxRows, in whole batches', async () => {
    const store = await openStore({ flush: { maxRows: 100, maxDelayMs: 50 } });
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendSpans(batch(i + 1, 10))));
    const stats = await store.stats();
    expect(stats.commits).toBe(4);
    expect(stats.committedRows).toBe(400);
  });

  it('fails only the caller whose records are malformed', async () => {
    const store = await openStore({ flush: { maxRows: 1000, maxDelayMs: 20 } });
    const good = store.appendSpans(batch(1, 5));
    const bad = store.appendSpans([{ ...batch(2, 1)[0]!, traceId: 'not-hex' }]);
    const noTime = store.appendSpans([{ ...batch(3, 1)[0]!, endUnixNano: 5 as unknown as bigint }]);
    await expect(bad).rejects.toBeInstanceOf(InvalidIdError);
    await expect(noTime).rejects.toThrow(/bigint/);
    await good;
    expect(await count(store)).toBe(5);
  });

  it('rejects the whole group when its commit fails, and takes new appends afterwards', async () => {
    const store = await openStore({ flush: { maxRows: 1000, maxDelayMs: 30 } });
    // A constraint the store does not know about makes DuckDB refuse the transaction.
    await store.reader().connection.run('CREATE UNIQUE INDEX one_body ON log_records (body)');
    const log = (body: string): LogRecord => ({
      service: 'auth',
      instance: null,
      timeUnixNano: T0,
      severityNumber: 9,
      severityText: null,
      body,
      traceId: null,
      spanId: null,
      attributes: {},
    });
    const a = store.appendLogs([log('same')]);
    const b = store.appendLogs([log('same')]);
    const spansInSameGroup = store.appendSpans(batch(1, 3));
    const results = await Promise.allSettled([a, b, spansInSameGroup]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(store.pressure().accepting).toBe(false);
    expect(await count(store, 'log_records')).toBe(0);
    expect(await count(store)).toBe(0);

    await store.appendLogs([log('different')]);
    await store.appendSpans(batch(2, 3));
    expect(await count(store, 'log_records')).toBe(1);
    expect(await count(store)).toBe(3);
    expect(store.pressure().accepting).toBe(true);
  });

  it('says stop when the queue passes its bound, and refuses outright at twice the bound', async () => {
    const store = await openStore({ maxPendingRows: 1000, flush: { maxRows: 100_000, maxDelayMs: 60_000 } });
    expect(store.pressure()).toEqual({ accepting: true, retryAfterSeconds: 0 });
    const queued = [store.appendSpans(batch(1, 600))];
    expect(store.pressure().accepting).toBe(true);
    queued.push(store.appendSpans(batch(2, 600)));
    const p = store.pressure();
    expect(p.accepting).toBe(false);
    expect(p.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(p.reason).toMatch(/1200 rows waiting/);
    queued.push(store.appendSpans(batch(3, 600)));
    await expect(store.appendSpans(batch(4, 600))).rejects.toBeInstanceOf(StoreBusyError);
    await store.flush();
    await Promise.all(queued);
    expect(store.pressure().accepting).toBe(true);
    expect(await count(store)).toBe(1800);
  });

  it('commits what is queued on close, refuses appends after, and keeps the data for the next open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaoscope-store-'));
    dirs.push(dir);
    const store = await openStore({ flush: { maxRows: 100_000, maxDelayMs: 60_000 } }, dir);
    const queued = store.appendSpans(batch(1, 25));
    await store.close();
    await queued;
    await expect(store.appendSpans(batch(2, 1))).rejects.toBeInstanceOf(StoreClosedError);
    expect(store.pressure().accepting).toBe(false);
    const again = await openStore({}, dir);
    expect(await count(again)).toBe(25);
  });

  it('refuses to open the same file twice in one process', async () => {
    const store = await openStore();
    await expect(TelemetryStore.open({ path: store.path })).rejects.toThrow(/already open in this process/);
  });

  it('counts what each service appended', async () => {
    const store = await openStore();
    await store.appendSpans([
      span({ traceId: traceId(1), spanId: spanId(1), service: 'gateway', startMs: 0, durationMs: 1 }),
      span({ traceId: traceId(1), spanId: spanId(2), service: 'users', startMs: 0, durationMs: 1 }),
      span({ traceId: traceId(1), spanId: spanId(3), service: 'users', startMs: 0, durationMs: 1 }),
    ]);
    await store.appendLogs([
      {
        service: 'auth',
        instance: null,
        timeUnixNano: T0,
        severityNumber: 9,
        severityText: 'INFO',
        body: 'token issued',
        traceId: null,
        spanId: null,
        attributes: {},
      },
    ]);
    const stats = await store.stats();
    expect(stats.appendedByService).toEqual({
      gateway: { spans: 1, metricPoints: 0, logRecords: 0 },
      users: { spans: 2, metricPoints: 0, logRecords: 0 },
      auth: { spans: 0, metricPoints: 0, logRecords: 1 },
    });
    expect(stats.rows).toEqual({ spans: 3, metricPoints: 0, logRecords: 1 });
    expect(stats.pending).toEqual({ rows: 0, batches: 0 });
    expect(stats.schemaVersion).toBe(4);
    expect(stats.bytes.onDisk).toBeGreaterThan(0);
  });
});

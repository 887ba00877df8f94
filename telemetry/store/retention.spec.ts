import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord, MetricPoint } from '../model/telemetry.ts';
import { MS, span, spanId, T0, traceId } from './fixtures/spans.ts';
import { TelemetryStore, type StoreOptions } from './index.ts';
import { searchTraces } from '../query/search.ts';

const dirs: string[] = [];
const stores: TelemetryStore[] = [];

/** A new store in a temp dir, or the file of `previous` reopened (after closing it) with new options. */
async function openStore(
  options: Omit<StoreOptions, 'path'>,
  previous?: TelemetryStore,
): Promise<TelemetryStore> {
  let path: string;
  if (previous) {
    await previous.close();
    path = previous.path;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'chaoscope-retention-'));
    dirs.push(dir);
    path = join(dir, 'telemetry.duckdb');
  }
  const store = await TelemetryStore.open({ path, ...options });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NOW_MS = Number(T0 / MS) + 3_600_000; // an hour after the fixtures' origin

describe('retention by age', () => {
  it('evicts spans, metric points and log records older than maxAgeMs and counts them', async () => {
    const store = await openStore({ retention: { maxAgeMs: 10 * 60_000, checkIntervalMs: 0 } });
    // Minutes before NOW: 59, 30, 11 are older than 10 minutes; 9 and 1 are not.
    const minutesAgo = [59, 30, 11, 9, 1];
    const startMs = (m: number) => 3_600_000 - m * 60_000;
    await store.appendSpans(
      minutesAgo.map((m, i) =>
        span({ traceId: traceId(i + 1), spanId: spanId(i + 1), startMs: startMs(m), durationMs: 5 }),
      ),
    );
    const metric = (m: number): MetricPoint => ({
      service: 'gateway',
      instance: null,
      name: 'breaker.state',
      kind: 'gauge',
      unit: null,
      timeUnixNano: T0 + BigInt(startMs(m)) * MS,
      value: 0,
      histogram: null,
      attributes: {},
    });
    const log = (m: number): LogRecord => ({
      service: 'auth',
      instance: null,
      timeUnixNano: T0 + BigInt(startMs(m)) * MS,
      severityNumber: 9,
      severityText: 'INFO',
      body: `${m} minutes ago`,
      traceId: null,
      spanId: null,
      attributes: {},
    });
    await store.appendMetrics([metric(20), metric(5)]);
    await store.appendLogs([log(45), log(12), log(3)]);

    const result = await store.enforceRetention(NOW_MS);
    expect(result.byAge).toEqual({ spans: 3, metricPoints: 1, logRecords: 2 });
    expect(result.bySize).toEqual({ spans: 0, metricPoints: 0, logRecords: 0 });
    const spans = await store.reader().rows('SELECT trace_id FROM spans ORDER BY trace_id');
    expect(spans.map((r) => Number(r.trace_id))).toEqual([4, 5]);
    const logs = await store.reader().rows('SELECT body FROM log_records ORDER BY time_ns');
    expect(logs.map((r) => r.body)).toEqual(['3 minutes ago']);

    // A second pass finds nothing more; the counters keep the total.
    await store.enforceRetention(NOW_MS);
    const stats = await store.stats();
    expect(stats.evictions.byAge).toEqual({ spans: 3, metricPoints: 1, logRecords: 2 });
    expect(stats.rows).toEqual({ spans: 2, metricPoints: 1, logRecords: 1 });
  });

  it('summarises a trace that lost spans to it from the spans it still has', async () => {
    const store = await openStore({ retention: { maxAgeMs: 10 * 60_000, checkIntervalMs: 0 } });
    const trace = traceId(0x77);
    // One batch: a root 20 minutes ago (evicted) and a child 5 minutes ago (kept).
    await store.appendSpans([
      span({
        traceId: trace,
        spanId: spanId(1),
        startMs: 2_400_000,
        durationMs: 900_000,
        statusCode: 'error',
      }),
      span({
        traceId: trace,
        spanId: spanId(2),
        parentSpanId: spanId(1),
        service: 'users',
        startMs: 3_300_000,
        durationMs: 5,
      }),
    ]);
    await store.enforceRetention(NOW_MS);
    const [summary] = await searchTraces(store.reader(), { service: 'users' });
    expect(summary).toMatchObject({
      traceId: trace,
      rootService: 'users',
      spanCount: 1,
      errorCount: 0,
      services: ['users'],
      durationMs: 5,
    });
  });

  it('runs on its own timer', async () => {
    const store = await openStore({ retention: { maxAgeMs: 60_000, checkIntervalMs: 50 } });
    // Spans from 2024: far older than a minute by the real clock.
    await store.appendSpans([span({ traceId: traceId(1), spanId: spanId(1), startMs: 0, durationMs: 1 })]);
    await expect.poll(async () => (await store.stats()).evictions.byAge.spans, { timeout: 5_000 }).toBe(1);
  });
});

describe('retention by size', () => {
  it('evicts the oldest telemetry until the used bytes are under the cap, and counts it', async () => {
    const store = await openStore({ retention: { checkIntervalMs: 0 } });
    // Space comes back a row group (122,880 rows) at a time, so this needs several: written with
    // SQL because what is under test is eviction, not the append path. 120,000 traces of 5 spans,
    // one millisecond apart: a later trace is strictly newer.
    const traces = 120_000;
    await store.reader().connection.run(
      `INSERT INTO spans SELECT
         (i // 5 + 1)::UHUGEINT, (i + 1)::UBIGINT, NULL, 'svc-' || (i % 5), NULL, 'GET /x', 'server',
         ${T0} + (i // 5) * 1000000, 1000000, 'unset', NULL, NULL, NULL,
         '{"i":' || i || ',"pad":"' || md5(i::VARCHAR) || '"}', '{}', NULL, NULL, NULL, NULL
       FROM range(${traces * 5}) r(i)`,
    );
    await store.reader().connection.run('CHECKPOINT');
    const before = await store.stats();
    const maxBytes = Math.floor(before.bytes.used * 0.7);

    const reopened = await openStore({ retention: { maxBytes, checkIntervalMs: 0 } }, store);
    const { bySize, byAge } = await reopened.enforceRetention();
    expect(byAge.spans).toBe(0);
    const after = await reopened.stats();
    expect(after.bytes.used).toBeLessThanOrEqual(maxBytes);
    expect(bySize.spans).toBeGreaterThan(0);
    expect(after.rows.spans).toBe(traces * 5 - bySize.spans);
    expect(after.evictions.bySize).toEqual(bySize);
    // Oldest first: what is left is one contiguous run of the newest traces, each whole.
    const [left] = await reopened
      .reader()
      .rows('SELECT min(trace_id) AS first, max(trace_id) AS last, count(*) AS n FROM spans');
    expect(Number(left!.last)).toBe(traces);
    expect(Number(left!.n)).toBe((traces - Number(left!.first) + 1) * 5);
    // And not much more than needed went: the low watermark is 80 % of the cap.
    expect(after.rows.spans).toBeGreaterThan(traces * 5 * 0.3);
  });
});

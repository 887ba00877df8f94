/**
 * The telemetry store and its queries, measured in one run on this machine. Prints JSON.
 *
 * - append: spans/s through `appendSpans` (512-span batches, 10 attributes per span, 8 batches in
 *   flight like concurrent collector requests, durable group commits), against the rate at which
 *   the same process merely builds those spans; the ratio says how much of the budget the store
 *   takes. Also spans per CPU-second of the whole process (all threads: DuckDB's included).
 * - queries at 1 M spans (all of them appended through the real path) and, unless
 *   BENCH_TELEMETRY_MAX_SPANS is lower, at 10 M (the extra 9 M written with one SQL INSERT of the
 *   same shape, which is what a day of ingest leaves behind, minus the wait): trace search, trace
 *   assembly (an 8-span trace and a 10,000-span trace), service graph and RED. Each against a
 *   baseline from the same run: search against one plain scan of the service column (what any
 *   query that reads every row costs at least), assembly (lookup, read, tree, skew) against the
 *   obvious way to get the same rows: `SELECT * … WHERE trace_id = …` read as row objects.
 *
 * Run: node_modules/.bin/node bench/telemetry-store.ts
 * Env: BENCH_TELEMETRY_MAX_SPANS (default 10000000), BENCH_TELEMETRY_APPEND_SPANS (default 300000),
 *      BENCH_TELEMETRY_DIR (default a temp dir, removed afterwards).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { SpanRecord } from '../telemetry/model/telemetry.ts';
import {
  getSpan,
  getTrace,
  getTraceOutline,
  red,
  searchTraces,
  serviceGraph,
  type TraceSearch,
} from '../telemetry/query/index.ts';
import { TelemetryStore } from '../telemetry/store/index.ts';
import {
  FILL_TRACE_INDEX_SCALARS,
  SUMMARY_COLUMNS,
  traceSummariesOfSpans,
} from '../telemetry/store/schema.ts';

const MAX_SPANS = Number(process.env.BENCH_TELEMETRY_MAX_SPANS ?? 10_000_000);
const APPEND_SPANS = Number(process.env.BENCH_TELEMETRY_APPEND_SPANS ?? 300_000);
const REAL_SPANS = Math.min(1_000_000, MAX_SPANS);
const BATCH = 512;
const IN_FLIGHT = 8;
const SPANS_PER_TRACE = 8;
const RUNS = 25;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const MS = 1_000_000n;
/** The data covers the last hour: traces evenly spread, newest ending now. */
const NOW_MS = Date.now();
const HOUR_MS = 3_600_000;

function hex(bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += ((Math.random() * 256) | 0).toString(16).padStart(2, '0');
  return s;
}

const SHAPE = [
  {
    service: 'gateway',
    kind: 'server',
    name: 'GET /api/timeline',
    parent: -1,
    route: '/api/timeline',
    peer: null,
  },
  { service: 'gateway', kind: 'client', name: 'GET timeline', parent: 0, route: null, peer: 'timeline' },
  {
    service: 'timeline',
    kind: 'server',
    name: 'GET /timeline/:user',
    parent: 1,
    route: '/timeline/:user',
    peer: null,
  },
  { service: 'gateway', kind: 'client', name: 'GET tweets', parent: 0, route: null, peer: 'tweets' },
  { service: 'tweets', kind: 'server', name: 'GET /tweets', parent: 3, route: '/tweets', peer: null },
  { service: 'gateway', kind: 'client', name: 'GET users', parent: 0, route: null, peer: 'users' },
  {
    service: 'users',
    kind: 'server',
    name: 'GET /users/:handle',
    parent: 5,
    route: '/users/:handle',
    peer: null,
  },
  { service: 'users', kind: 'internal', name: 'db query', parent: 6, route: null, peer: null },
] as const;

/** One home-timeline read: 8 spans over 4 services, 10 attributes each, ~1 % errors. */
function buildTrace(startMs: number): SpanRecord[] {
  const traceId = hex(16);
  const ids = SHAPE.map(() => hex(8));
  const failed = Math.random() < 0.01;
  const start = BigInt(Math.round(startMs * 1000)) * 1000n;
  return SHAPE.map((s, i) => {
    const offset = BigInt(i) * 2n * MS;
    const duration = BigInt(Math.round((40 - i * 4 + Math.random() * 20) * 1000)) * 1000n;
    return {
      traceId,
      spanId: ids[i]!,
      parentSpanId: s.parent < 0 ? null : ids[s.parent]!,
      service: s.service,
      instance: `${s.service}-1`,
      name: s.name,
      kind: s.kind,
      startUnixNano: start + offset,
      endUnixNano: start + offset + duration,
      statusCode: failed && (i === 0 || i === 4) ? 'error' : 'unset',
      statusMessage: null,
      attributes: {
        'http.request.method': 'GET',
        'http.route': s.route ?? '',
        'http.response.status_code': failed ? 503 : 200,
        'url.path': `/api/timeline?limit=${20 + i}`,
        'server.address': '127.0.0.1',
        'server.port': 8080 + i,
        'peer.service': s.peer ?? '',
        'network.protocol.version': '1.1',
        'user_agent.original': 'loadgen/1.0',
        'chaoscope.request_id': `${traceId.slice(0, 12)}-${i}`,
      },
      resource: { 'service.name': s.service, 'service.instance.id': `${s.service}-1` },
      scope: { name: '@opentelemetry/instrumentation-http', version: '0.301.0' },
      events: [],
      links: [],
    };
  });
}

/** Batches of 512 spans (64 traces), traces `spacingMs` apart from `firstMs`. */
function* batches(count: number, firstMs: number, spacingMs: number): Generator<SpanRecord[]> {
  let trace = 0;
  for (let made = 0; made < count; made += BATCH) {
    const batch: SpanRecord[] = [];
    while (batch.length < BATCH) batch.push(...buildTrace(firstMs + trace++ * spacingMs));
    yield batch;
  }
}

async function inFlight(
  source: Iterator<SpanRecord[]>,
  sink: (b: SpanRecord[]) => Promise<void>,
): Promise<number> {
  let spans = 0;
  const worker = async () => {
    for (let next = source.next(); !next.done; next = source.next()) {
      spans += next.value.length;
      await sink(next.value);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return spans;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { value, ms, cpuMs: (used.user + used.system) / 1000 };
}

interface Latency {
  p50: number;
  p95: number;
  max: number;
}
async function latency(runs: number, fn: (i: number) => Promise<unknown>): Promise<Latency> {
  await fn(0); // warm the buffer cache and the prepared plans
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i + 1);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: round(at(0.5), 2), p95: round(at(0.95), 2), max: round(times.at(-1)!, 2) };
}

const ratio = (a: Latency, b: Latency) => ({ p50: round(a.p50 / b.p50, 2), p95: round(a.p95 / b.p95, 2) });

async function measureQueries(store: TelemetryStore, sampleTraceIds: readonly string[], bigTraceId: string) {
  const reader = store.reader();
  const recent = { from: NOW_MS - 5 * 60_000, to: NOW_MS + 60_000 };
  const searches: Record<string, TraceSearch> = {
    'service newest': { service: 'users' },
    'service+operation+errors': { service: 'gateway', operation: 'GET /api/timeline', status: 'error' },
    'min duration, longest': { minDurationMs: 50, sort: 'longest' },
    'attribute, last 15 min': { attributes: { 'http.route': '/users/:handle' }, from: NOW_MS - 15 * 60_000 },
    'time range only (5 min)': recent,
    'service, shortest, limit 100': { service: 'tweets', sort: 'shortest', limit: 100 },
  };
  const scan = await latency(RUNS, () => reader.rows("SELECT count(*) FROM spans WHERE service = 'users'"));
  const search: Record<string, Latency & { vsFullScan: { p50: number; p95: number } }> = {};
  for (const [name, params] of Object.entries(searches)) {
    const l = await latency(RUNS, () => searchTraces(reader, params));
    search[name] = { ...l, vsFullScan: ratio(l, scan) };
  }
  const small = await latency(RUNS * 2, (i) => getTrace(reader, sampleTraceIds[i % sampleTraceIds.length]!));
  const big = await latency(RUNS, () => getTrace(reader, bigTraceId));
  const bigOutline = await latency(RUNS, () => getTraceOutline(reader, bigTraceId));
  const bigSpan = await latency(RUNS, (i) =>
    getSpan(reader, bigTraceId, (i + 1).toString(16).padStart(16, '0')),
  );
  const bigRaw = await latency(RUNS, () =>
    reader.rows(`SELECT * FROM spans WHERE trace_id = ${BigInt('0x' + bigTraceId)}::UHUGEINT`),
  );
  const smallRaw = await latency(RUNS * 2, (i) =>
    reader.rows(
      `SELECT * FROM spans WHERE trace_id = ${BigInt('0x' + sampleTraceIds[i % sampleTraceIds.length]!)}::UHUGEINT`,
    ),
  );
  return {
    fullScanOfServiceColumnMs: scan,
    search,
    getTrace: {
      '8 spans': { ...small, naiveSelect: smallRaw, vsNaiveSelect: ratio(small, smallRaw) },
      '10,000 spans': { ...big, naiveSelect: bigRaw, vsNaiveSelect: ratio(big, bigRaw) },
      '10,000 spans, outline (waterfall first paint)': {
        ...bigOutline,
        vsFullTrace: ratio(bigOutline, big),
      },
      'one span in full (details on demand)': bigSpan,
    },
    serviceGraph5Min: await latency(RUNS, () => serviceGraph(reader, recent)),
    red15MinStep10s: await latency(RUNS, () =>
      red(reader, { service: 'gateway', from: NOW_MS - 15 * 60_000, to: NOW_MS, stepMs: 10_000 }),
    ),
  };
}

/** The same 8-span shape as buildTrace, generated inside DuckDB, for the spans past the first million. */
async function bulkInsert(
  store: TelemetryStore,
  spans: number,
  firstMs: number,
  spacingMs: number,
): Promise<void> {
  const c = store.reader().connection;
  const traces = Math.floor(spans / SPANS_PER_TRACE);
  const shape = SHAPE.map(
    (s, i) =>
      `(${i}, '${s.service}', '${s.kind}', '${s.name}', ${s.parent}, ${s.route ? `'${s.route}'` : 'NULL'}, ${s.peer ? `'${s.peer}'` : 'NULL'})`,
  ).join(', ');
  const first = BigInt(Math.round(firstMs)) * MS;
  const spacing = BigInt(Math.round(spacingMs * 1e6));
  await c.run(
    `CREATE TEMP TABLE shape (i INTEGER, service VARCHAR, kind VARCHAR, name VARCHAR, parent INTEGER, route VARCHAR, peer VARCHAR)`,
  );
  await c.run(`INSERT INTO shape VALUES ${shape}`);
  // Chunks of a million spans keep memory flat and let checkpoints run between them.
  const chunk = 125_000;
  for (let t0 = 0; t0 < traces; t0 += chunk) {
    const t1 = Math.min(traces, t0 + chunk);
    await c.run(`INSERT INTO spans
      SELECT
        (hash(t, 'trace')::UHUGEINT << 64) + hash(t, 'id'),
        hash(t, s.i, 'span') >> 1,
        CASE WHEN s.parent < 0 THEN NULL ELSE hash(t, s.parent, 'span') >> 1 END,
        s.service, s.service || '-1', s.name, s.kind,
        ${first} + t * ${spacing} + s.i * 2000000,
        (40 - s.i * 4) * 1000000 + hash(t, s.i) % 20000000,
        CASE WHEN hash(t) % 100 = 0 AND s.i IN (0, 4) THEN 'error' ELSE 'unset' END,
        NULL, s.route, s.peer,
        '{"http.request.method":"GET","http.route":"' || coalesce(s.route, '') || '","http.response.status_code":'
          || CASE WHEN hash(t) % 100 = 0 THEN 503 ELSE 200 END || ',"url.path":"/api/timeline?limit=' || (20 + s.i)
          || '","server.address":"127.0.0.1","server.port":' || (8080 + s.i) || ',"peer.service":"' || coalesce(s.peer, '')
          || '","network.protocol.version":"1.1","user_agent.original":"loadgen/1.0","chaoscope.request_id":"'
          || substr(md5(t::VARCHAR), 1, 12) || '-' || s.i || '"}',
        '{"service.name":"' || s.service || '","service.instance.id":"' || s.service || '-1"}',
        '@opentelemetry/instrumentation-http', '0.301.0', NULL, NULL
      FROM range(${t0}, ${t1}) r(t), shape s`);
    // The index rows the store would have written: these traces' spans all lie in the chunk's time.
    await c.run(
      `INSERT INTO trace_index (${SUMMARY_COLUMNS}) ${traceSummariesOfSpans(`start_ns >= ${first + BigInt(t0) * spacing} AND start_ns < ${first + BigInt(t1) * spacing}`)}`,
    );
    await c.run(FILL_TRACE_INDEX_SCALARS);
  }
}

const dir = process.env.BENCH_TELEMETRY_DIR ?? mkdtempSync(join(tmpdir(), 'chaoscope-telemetry-bench-'));
const path = join(dir, 'telemetry.duckdb');
const result: Record<string, unknown> = {
  when: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 2 ** 30),
    node: process.version,
  },
  settings: {
    batch: BATCH,
    inFlight: IN_FLIGHT,
    attributesPerSpan: 10,
    spansPerTrace: SPANS_PER_TRACE,
    runsPerQuery: RUNS,
  },
};
try {
  // 1. Append throughput against merely building the same spans.
  const appendSpacing = HOUR_MS / (REAL_SPANS / SPANS_PER_TRACE);
  const build = await timed(() =>
    inFlight(batches(APPEND_SPANS, NOW_MS - HOUR_MS, appendSpacing), async () => undefined),
  );
  const store = await TelemetryStore.open({ path, retention: { checkIntervalMs: 0 } });
  const append = await timed(() =>
    inFlight(batches(APPEND_SPANS, NOW_MS - HOUR_MS, appendSpacing), (b) => store.appendSpans(b)),
  );
  const buildRate = build.value / (build.ms / 1000);
  const appendRate = append.value / (append.ms / 1000);
  const stats = await store.stats();
  result.append = {
    spans: append.value,
    buildOnlySpansPerSecond: Math.round(buildRate),
    appendSpansPerSecond: Math.round(appendRate),
    appendVsBuildOnly: round(appendRate / buildRate, 3),
    appendSpansPerCpuSecond: Math.round(append.value / (append.cpuMs / 1000)),
    cpuSecondsPerWallSecond: round(append.cpuMs / append.ms, 2),
    commits: stats.commits,
    spansPerCommit: Math.round(stats.committedRows / stats.commits),
  };

  // 2. Fill to one million spans through the real path, then a 10,000-span trace.
  const fill = await timed(() =>
    inFlight(
      batches(
        REAL_SPANS - APPEND_SPANS,
        NOW_MS - HOUR_MS + (APPEND_SPANS / SPANS_PER_TRACE) * appendSpacing,
        appendSpacing,
      ),
      (b) => store.appendSpans(b),
    ),
  );
  const sample: string[] = [];
  for (const b of batches(20 * BATCH, NOW_MS - 30 * 60_000, 1)) {
    await store.appendSpans(b);
    sample.push(b[0]!.traceId);
  }
  const bigTraceId = hex(16);
  const bigStart = BigInt(NOW_MS - 10 * 60_000) * MS;
  const big: SpanRecord[] = Array.from({ length: 10_000 }, (_, i) => ({
    ...buildTrace(0)[i % SPANS_PER_TRACE]!,
    traceId: bigTraceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId:
      i === 0
        ? null
        : Math.floor(i / 4 + 1)
            .toString(16)
            .padStart(16, '0'),
    startUnixNano: bigStart + BigInt(i) * 100_000n,
    endUnixNano: bigStart + BigInt(i) * 100_000n + 5n * MS,
  }));
  for (let i = 0; i < big.length; i += BATCH) await store.appendSpans(big.slice(i, i + BATCH));
  await store.flush();
  result.fill = { spansPerSecond: Math.round((REAL_SPANS - APPEND_SPANS) / (fill.ms / 1000)) };
  const at1M = await store.stats();
  const queries: unknown[] = [];
  result.queries = queries;
  queries.push({
    spans: at1M.rows.spans,
    how: 'all appended through appendSpans, spread over the last hour',
    bytesUsed: at1M.bytes.used,
    bytesPerSpan: round(at1M.bytes.used / at1M.rows.spans, 1),
    ...(await measureQueries(store, sample, bigTraceId)),
  });

  // 3. Ten million: the rest in bulk, as the nine hours before that one.
  if (MAX_SPANS > at1M.rows.spans) {
    const extra = MAX_SPANS - at1M.rows.spans;
    const insert = await timed(() =>
      bulkInsert(store, extra, NOW_MS - 10 * HOUR_MS, (9 * HOUR_MS) / Math.floor(extra / SPANS_PER_TRACE)),
    );
    await store.reader().connection.run('CHECKPOINT');
    const at10M = await store.stats();
    queries.push({
      spans: at10M.rows.spans,
      how: 'plus the nine hours before, written by one SQL INSERT of the same shape',
      bulkInsertSeconds: round(insert.ms / 1000),
      bytesUsed: at10M.bytes.used,
      bytesPerSpan: round(at10M.bytes.used / at10M.rows.spans, 1),
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      ...(await measureQueries(store, sample, bigTraceId)),
    });
  }
  await store.close();
} finally {
  if (!process.env.BENCH_TELEMETRY_DIR) rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));

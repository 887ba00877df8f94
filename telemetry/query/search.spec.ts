import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../model/telemetry.ts';
import { MS, span, spanId, T0, traceId } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { at, TRACE_A, TRACE_B, TRACE_C, traceA, traceB, traceC } from './fixtures/world.ts';
import { storeWith } from './fixtures/store.ts';
import { InvalidQueryError } from './params.ts';
import { searchTraces, type TraceSearch } from './search.ts';

// Trace D: 300 loadgen spans in one trace (it crowds the others out of a plain top-N);
// traces E1..E3: one older loadgen span each, answered 503.
const TRACE_D = traceId(0xd);
const traceD: SpanRecord[] = Array.from({ length: 300 }, (_, i) =>
  span({
    traceId: TRACE_D,
    spanId: spanId(0xd000 + i),
    parentSpanId: i === 0 ? null : spanId(0xd000),
    service: 'loadgen',
    kind: i === 0 ? 'internal' : 'client',
    name: i === 0 ? 'session' : 'GET /api/timeline',
    startMs: 5000 + i / 10,
    durationMs: 1,
  }),
);
const TRACE_E = [1, 2, 3].map((n) => traceId(0xe0 + n));
const traceE: SpanRecord[] = TRACE_E.map((t, i) =>
  span({
    traceId: t,
    spanId: spanId(0xe00 + i),
    service: 'loadgen',
    name: 'GET /api/timeline',
    startMs: 4000 + i * 100,
    durationMs: 3,
    attributes: { 'http.response.status_code': 503 },
  }),
);

// Traces F1, F2: attribute lookalikes. F1 nests the pair one level down; F2 has it inside a string.
const TRACE_F = [1, 2].map((n) => traceId(0xf0 + n));
const traceF: SpanRecord[] = [
  span({
    traceId: TRACE_F[0]!,
    spanId: spanId(0xf01),
    service: 'lookalike',
    startMs: 3000,
    durationMs: 1,
    attributes: { 'server.port': 8080, meta: { 'http.route': '/users' }, flag: true },
  }),
  span({
    traceId: TRACE_F[1]!,
    spanId: spanId(0xf02),
    service: 'lookalike',
    startMs: 3100,
    durationMs: 1,
    attributes: { 'server.port': 80, note: '"http.route":"/users"' },
  }),
];

let store: TelemetryStore;
let dispose: () => Promise<void>;
beforeAll(async () => {
  // a7 again in its own batch: an exporter retry stored the same span twice.
  ({ store, dispose } = await storeWith([traceA, traceB, traceC, [traceA[6]!], traceD, traceE, traceF]));
});
afterAll(() => dispose());

const search = async (params: TraceSearch) =>
  (await searchTraces(store.reader(), params)).map((s) => s.traceId);

describe('searchTraces', () => {
  it('ranks traces by their newest matching span', async () => {
    expect(await search({ service: 'users' })).toEqual([TRACE_B, TRACE_A]);
    expect(await search({ operation: 'GET /tweets' })).toEqual([TRACE_B, TRACE_C, TRACE_A]);
    expect(await search({ service: 'nobody' })).toEqual([]);
  });

  it('filters by status, with every sort order', async () => {
    expect(await search({ status: 'error' })).toEqual([TRACE_B, TRACE_A, TRACE_C]);
    expect(await search({ status: 'error', sort: 'oldest' })).toEqual([TRACE_C, TRACE_A, TRACE_B]);
    expect(await search({ service: 'gateway', sort: 'longest' })).toEqual([TRACE_C, TRACE_A, TRACE_B]);
    expect(await search({ service: 'gateway', sort: 'shortest' })).toEqual([TRACE_A, TRACE_B, TRACE_C]);
    expect(await search({ status: 'error', limit: 2 })).toEqual([TRACE_B, TRACE_A]);
  });

  it('filters by span duration', async () => {
    expect(await search({ minDurationMs: 101 })).toEqual([TRACE_C]);
    expect(await search({ minDurationMs: 55, maxDurationMs: 100, service: 'gateway' })).toEqual([TRACE_A]);
  });

  it('filters by span and resource attributes, numbers matching their text', async () => {
    expect(await search({ attributes: { 'http.route': '/users' } })).toEqual([TRACE_B, TRACE_A]);
    expect(await search({ attributes: { 'peer.service': 'tweets', 'http.request.method': 'GET' } })).toEqual([
      TRACE_B,
      TRACE_A,
    ]);
    expect(await search({ attributes: { 'service.instance.id': 'tweets-1' } })).toEqual([
      TRACE_B,
      TRACE_C,
      TRACE_A,
    ]);
    expect(await search({ attributes: { 'http.response.status_code': '503' } })).toEqual(
      [...TRACE_E].reverse(),
    );
    expect(await search({ attributes: { 'http.route': '/nowhere' } })).toEqual([]);
  });

  it('matches attributes exactly: whole numbers, top level only, not inside strings', async () => {
    expect(await search({ attributes: { 'server.port': '80' } })).toEqual([TRACE_F[1]]);
    expect(await search({ attributes: { 'server.port': '8080' } })).toEqual([TRACE_F[0]]);
    expect(await search({ attributes: { flag: 'true' } })).toEqual([TRACE_F[0]]);
    // F1 has the pair nested, F2 inside a string value: neither is an http.route attribute.
    expect(await search({ attributes: { 'http.route': '/users' }, service: 'lookalike' })).toEqual([]);
  });

  it('filters by time range, ties going to the lower trace id', async () => {
    expect(await search({ from: at(500), to: at(2000) })).toEqual([TRACE_B]);
    // Both A and C have their newest span before 16 ms at 15 ms.
    expect(await search({ to: at(16) })).toEqual([TRACE_A, TRACE_C]);
    expect(await search({ from: new Date(at(3999)), to: new Date(at(4150)) })).toEqual(
      TRACE_E.slice(0, 2).reverse(),
    );
  });

  it('finds the other traces when one trace has hundreds of matching spans', async () => {
    expect(await search({ service: 'loadgen', limit: 3 })).toEqual([TRACE_D, TRACE_E[2], TRACE_E[1]]);
    expect(await search({ service: 'loadgen' })).toEqual([TRACE_D, TRACE_E[2], TRACE_E[1], TRACE_E[0]]);
  });

  it('summarises whole traces: root, span and error counts, services', async () => {
    const summaries = await searchTraces(store.reader(), { service: 'users' });
    expect(summaries).toEqual([
      {
        traceId: TRACE_B,
        // b1 has no parent; b3 starts earlier (995 ms) but is not the root.
        rootService: 'gateway',
        rootName: 'GET /api/timeline',
        startUnixNano: T0 + 995n * MS,
        durationNs: 75n * MS,
        durationMs: 75,
        spanCount: 7,
        errorCount: 2,
        services: ['gateway', 'tweets', 'users'],
      },
      {
        traceId: TRACE_A,
        rootService: 'gateway',
        rootName: 'GET /api/timeline',
        startUnixNano: T0,
        durationNs: 100n * MS,
        durationMs: 100,
        // a7 is stored twice and counted once.
        spanCount: 7,
        errorCount: 1,
        services: ['gateway', 'timeline', 'tweets', 'users'],
      },
    ]);
    const [d] = await searchTraces(store.reader(), { service: 'loadgen', limit: 1 });
    expect(d).toMatchObject({ traceId: TRACE_D, rootName: 'session', spanCount: 300, durationMs: 30.9 });
  });

  it('refuses malformed parameters', async () => {
    for (const bad of [
      { limit: 0 },
      { limit: 1001 },
      { sort: 'random' },
      { status: 'failed' },
      { minDurationMs: -1 },
      { colour: 'blue' },
      { from: 'yesterday' },
    ]) {
      await expect(searchTraces(store.reader(), bad as TraceSearch)).rejects.toBeInstanceOf(
        InvalidQueryError,
      );
    }
  });
});

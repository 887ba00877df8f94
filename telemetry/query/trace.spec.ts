import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MS, span, spanId, T0, traceId } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { assembleTrace, type TraceNode, type TraceView } from './assemble.ts';
import { compareTraces } from './compare.ts';
import { criticalPath } from './critical-path.ts';
import { ids, TRACE_A, TRACE_B, TRACE_C, traceA, traceB, traceC } from './fixtures/world.ts';
import { storeWith } from './fixtures/store.ts';
import { InvalidQueryError } from './params.ts';
import { getSpan, getTrace, getTraceOutline } from './trace.ts';

let store: TelemetryStore;
let dispose: () => Promise<void>;
beforeAll(async () => {
  // Trace B arrives in two exports (users' spans separately), and a7 twice.
  const usersB = traceB.filter((s) => s.service === 'users');
  ({ store, dispose } = await storeWith([
    traceA,
    traceB.filter((s) => s.service !== 'users'),
    usersB,
    traceC,
    [traceA[6]!],
  ]));
});
afterAll(() => dispose());

async function load(id: string): Promise<TraceView> {
  const trace = await getTrace(store.reader(), id);
  if (!trace) throw new Error(`trace ${id} not found`);
  return trace;
}

/** The tree as nested [spanId, children] pairs: easy to write out by hand. */
type Shape = [string, Shape[]];
const shape = (nodes: readonly TraceNode[]): Shape[] => nodes.map((n) => [n.span.spanId, shape(n.children)]);
const ms = (offset: number) => T0 + BigInt(offset) * MS;

describe('getTrace', () => {
  it('assembles a trace into a tree, every span once, in waterfall order', async () => {
    const a = await load(TRACE_A);
    expect(shape(a.roots)).toEqual([
      [
        ids.a1,
        [
          [ids.a2, [[ids.a3, [[ids.a4, [[ids.a5, []]]]]]]],
          [ids.a6, [[ids.a7, []]]],
        ],
      ],
    ]);
    expect(a.nodes.map((n) => n.span.spanId)).toEqual([
      ids.a1,
      ids.a2,
      ids.a3,
      ids.a4,
      ids.a5,
      ids.a6,
      ids.a7,
    ]);
    expect(a.nodes.map((n) => n.depth)).toEqual([0, 1, 2, 3, 4, 1, 2]);
    expect(a.spans).toEqual(traceA);
    expect(a.duplicateCount).toBe(1);
    expect(a.skewAdjustedCount).toBe(0);
    expect(a.orphanCount).toBe(0);
    expect(a.services).toEqual(['gateway', 'timeline', 'tweets', 'users']);
    expect(a.errorCount).toBe(1);
    expect(a.durationNs).toBe(100n * MS);
  });

  it('lists a span whose parent never arrived as an orphan root, after the real root', async () => {
    const b = await load(TRACE_B);
    expect(shape(b.roots)).toEqual([
      [
        ids.b1,
        [
          [ids.b2, [[ids.b3, [[ids.b4, []]]]]],
          [ids.b7, []],
          [ids.b6, []],
        ],
      ],
      [ids.b5, []],
    ]);
    expect(b.roots.map((r) => r.orphan)).toEqual([false, true]);
    expect(b.orphanCount).toBe(1);
    expect(b.startUnixNano).toBe(ms(995));
    expect(b.durationNs).toBe(75n * MS);
  });

  it('shifts a child from a skewed clock into its parent for display, keeping the raw times', async () => {
    const b = await load(TRACE_B);
    const node = (id: string) => b.byId.get(id)!;
    // b3 (users) starts 10 ms before its caller b2: centred in b2 ((40 - 20) / 2 = 10 ms in) → +20 ms.
    expect(node(ids.b3)).toMatchObject({
      adjustedForSkew: true,
      skewNs: 20n * MS,
      displayStartUnixNano: ms(1015),
      displayEndUnixNano: ms(1035),
    });
    expect(node(ids.b3).span.startUnixNano).toBe(ms(995));
    // b4 runs on the same (skewed) clock as b3 and moves with it.
    expect(node(ids.b4)).toMatchObject({
      adjustedForSkew: true,
      skewNs: 20n * MS,
      displayStartUnixNano: ms(1020),
    });
    // b6 outlives b1 on the same process: real asynchronous work, not skew.
    expect(node(ids.b6)).toMatchObject({ adjustedForSkew: false, displayEndUnixNano: ms(1070) });
    expect(node(ids.b2).adjustedForSkew).toBe(false);
    expect(b.skewAdjustedCount).toBe(2);
  });

  it('shifts a skewed child that is longer than its parent only to the parent start', () => {
    const t = traceId(0x51);
    const view = assembleTrace([
      span({ traceId: t, spanId: spanId(1), kind: 'client', startMs: 100, durationMs: 10 }),
      span({
        traceId: t,
        spanId: spanId(2),
        parentSpanId: spanId(1),
        service: 'users',
        startMs: 90,
        durationMs: 30,
      }),
      // Fits already: left alone even though it is another process.
      span({
        traceId: t,
        spanId: spanId(3),
        parentSpanId: spanId(1),
        service: 'auth',
        startMs: 101,
        durationMs: 2,
      }),
    ])!;
    expect(view.byId.get(spanId(2))).toMatchObject({ skewNs: 10n * MS, displayStartUnixNano: ms(100) });
    expect(view.byId.get(spanId(3))?.adjustedForSkew).toBe(false);
  });

  it('survives parent cycles by cutting them at their earliest span', () => {
    const t = traceId(0x52);
    const view = assembleTrace([
      span({ traceId: t, spanId: spanId(1), parentSpanId: spanId(2), startMs: 0, durationMs: 10 }),
      span({ traceId: t, spanId: spanId(2), parentSpanId: spanId(1), startMs: 1, durationMs: 5 }),
      span({ traceId: t, spanId: spanId(3), parentSpanId: spanId(1), startMs: 2, durationMs: 1 }),
      span({ traceId: t, spanId: spanId(4), parentSpanId: spanId(4), startMs: 3, durationMs: 1 }),
    ])!;
    expect(shape(view.roots)).toEqual([
      [
        spanId(1),
        [
          [spanId(2), []],
          [spanId(3), []],
        ],
      ],
      [spanId(4), []],
    ]);
    expect(view.nodes).toHaveLength(4);
  });

  it('answers null for an unknown trace and refuses a malformed id', async () => {
    expect(await getTrace(store.reader(), traceId(0x404))).toBeNull();
    await expect(getTrace(store.reader(), 'xyz')).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe('getTraceOutline and getSpan', () => {
  it('gives the same tree as getTrace without the heavy columns, and counts events and links', async () => {
    const full = await load(TRACE_B);
    const outline = await getTraceOutline(store.reader(), TRACE_B);
    expect(outline).not.toBeNull();
    expect(shape(outline!.roots as unknown as TraceNode[])).toEqual(shape(full.roots));
    expect(outline!.nodes.map((n) => n.displayStartUnixNano)).toEqual(
      full.nodes.map((n) => n.displayStartUnixNano),
    );
    expect(outline!.duplicateCount).toBe(full.duplicateCount);
    for (const node of outline!.nodes) {
      const span = full.byId.get(node.span.spanId)!.span;
      expect(node.span).toEqual({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        service: span.service,
        instance: span.instance,
        name: span.name,
        kind: span.kind,
        startUnixNano: span.startUnixNano,
        endUnixNano: span.endUnixNano,
        statusCode: span.statusCode,
        statusMessage: span.statusMessage,
        eventCount: span.events.length,
        linkCount: span.links.length,
        eventMarks: span.events.map((e) => ({ timeUnixNano: e.timeUnixNano, name: e.name })),
      });
      expect(node).not.toHaveProperty('span.attributes');
    }
  });

  it('loads one span in full on demand, and answers null or refuses for bad ids', async () => {
    const full = await load(TRACE_A);
    const wanted = full.nodes[3]!.span;
    expect(await getSpan(store.reader(), TRACE_A.toUpperCase(), wanted.spanId.toUpperCase())).toEqual(wanted);
    expect(await getSpan(store.reader(), TRACE_A, 'ffffffffffffffff')).toBeNull();
    expect(await getSpan(store.reader(), 'f'.repeat(32), wanted.spanId)).toBeNull();
    expect(await getTraceOutline(store.reader(), 'f'.repeat(32))).toBeNull();
    await expect(getSpan(store.reader(), TRACE_A, "1' OR 1=1 --")).rejects.toThrow(InvalidQueryError);
    await expect(getTraceOutline(store.reader(), 'nope')).rejects.toThrow(/trace id/);
  });
});

describe('criticalPath', () => {
  it('walks back from the end through the last child to finish', async () => {
    const path = criticalPath(await load(TRACE_A))!;
    const segments = path.segments.map((s) => [
      s.spanId,
      Number((s.startUnixNano - T0) / MS),
      Number((s.endUnixNano - T0) / MS),
    ]);
    expect(segments).toEqual([
      [ids.a1, 0, 5],
      [ids.a2, 5, 10],
      [ids.a3, 10, 15],
      [ids.a4, 15, 17],
      [ids.a5, 17, 32],
      [ids.a4, 32, 35],
      [ids.a3, 35, 60],
      [ids.a2, 60, 65],
      [ids.a1, 65, 70],
      [ids.a6, 70, 72],
      [ids.a7, 72, 92],
      [ids.a6, 92, 95],
      [ids.a1, 95, 100],
    ]);
    expect(Object.fromEntries(path.bySpan.map((s) => [s.spanId, Number(s.durationNs / MS)]))).toEqual({
      [ids.a3]: 30,
      [ids.a7]: 20,
      [ids.a1]: 15,
      [ids.a5]: 15,
      [ids.a2]: 10,
      [ids.a4]: 5,
      [ids.a6]: 5,
    });
    expect(path.bySpan[0]!.spanId).toBe(ids.a3);
  });

  it('clips children to the parent and skips a child overlapped by the one that finished last', async () => {
    // b6 (1040..1070) is clipped to b1's end 1050 and finishes last; b2 (..1045) overlaps it and
    // b7 (..1040) touches it; walking back from 1040 finds b7 ending exactly there.
    const path = criticalPath(await load(TRACE_B))!;
    const segments = path.segments.map((s) => [
      s.spanId,
      Number((s.startUnixNano - T0) / MS),
      Number((s.endUnixNano - T0) / MS),
    ]);
    expect(segments).toEqual([
      [ids.b1, 1000, 1010],
      [ids.b7, 1010, 1040],
      [ids.b6, 1040, 1050],
    ]);
    expect(path.rootSpanId).toBe(ids.b1);
  });
});

describe('compareTraces', () => {
  it('matches spans by service, name and position, with duration deltas', async () => {
    const cmp = compareTraces(await load(TRACE_A), await load(TRACE_C));
    const root = '/gateway:GET /api/timeline#0';
    const call = `${root}/gateway:GET timeline#0`;
    const server = `${call}/timeline:GET /timeline/:user#0`;
    expect(cmp.matched.map((m) => [m.key, m.spanIdA, m.spanIdB, Number(m.deltaNs / MS)])).toEqual([
      [root, ids.a1, ids.c1, 50],
      [call, ids.a2, ids.c2, 60],
      [server, ids.a3, ids.c3, 60],
      [`${server}/timeline:GET tweets#0`, ids.a4, ids.c4, 0],
      [`${server}/timeline:GET tweets#0/tweets:GET /tweets#0`, ids.a5, ids.c5, 0],
    ]);
    expect(cmp.matched[3]).toMatchObject({ statusA: 'unset', statusB: 'error' });
    expect(cmp.added.map((s) => [s.key, s.spanId, Number(s.durationNs / MS)])).toEqual([
      [`${server}/timeline:GET tweets#1`, ids.c8, 60],
      [`${server}/timeline:GET tweets#1/tweets:GET /tweets#0`, ids.c9, 56],
    ]);
    expect(cmp.removed.map((s) => [s.key, s.spanId])).toEqual([
      [`${root}/gateway:GET users#0`, ids.a6],
      [`${root}/gateway:GET users#0/users:GET /users#0`, ids.a7],
    ]);
    expect(cmp.durationDeltaNs).toBe(50n * MS);
    expect(cmp.traceIdA).toBe(TRACE_A);
    expect(cmp.traceIdB).toBe(TRACE_C);
  });
});

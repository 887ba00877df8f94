import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../model/telemetry.ts';
import { span, spanId, traceId } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { TRACE_A, TRACE_B, TRACE_C, traceA, traceB, traceC } from './fixtures/world.ts';
import { storeWith } from './fixtures/store.ts';
import { getOutlineColumns, OUTLINE_SPAN_KINDS, OUTLINE_STATUS_CODES } from './outline.ts';
import { getTraceOutline } from './trace.ts';

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A trace in every state spans arrive in: nested and skewed across services and instances,
 * children outliving parents, missing parents, a parent cycle, a span that is its own parent,
 * spans re-sent (duplicates), equal start times, status messages with the separator and
 * backslashes, events and links.
 */
function messyTrace(n: number, seed: number): SpanRecord[][] {
  const rnd = random(seed);
  const trace = traceId(1000 + seed);
  const services = ['gateway', 'timeline', 'users\u001fodd', 'tweets\\x'];
  const spans: SpanRecord[] = [];
  for (let i = 1; i <= n; i++) {
    const parent =
      i === 1 ? null : rnd() < 0.05 ? spanId(90_000 + i) : spanId(1 + Math.floor(rnd() * (i - 1)));
    const service = services[Math.floor(rnd() * services.length)]!;
    spans.push(
      span({
        traceId: trace,
        spanId: spanId(i),
        parentSpanId: parent,
        service,
        instance: rnd() < 0.2 ? null : `${service}-${1 + Math.floor(rnd() * 2)}`,
        name: `op ${Math.floor(rnd() * 7)}`,
        kind: OUTLINE_SPAN_KINDS[Math.floor(rnd() * OUTLINE_SPAN_KINDS.length)]!,
        statusCode: OUTLINE_STATUS_CODES[Math.floor(rnd() * 3)]!,
        statusMessage: rnd() < 0.1 ? 'bad \\ thing \u001f here' : null,
        startMs: Math.round(rnd() * 200) / 4 + i * 0.001 * Math.floor(rnd() * 2),
        durationMs: Math.round(rnd() * 80 * 1000) / 1000,
        events:
          rnd() < 0.1
            ? [
                {
                  timeUnixNano: 1_704_067_200_000_000_000n + 12_345_678n,
                  name: 'fault.applied',
                  attributes: { a: 1 },
                },
              ]
            : [],
        links: rnd() < 0.05 ? [{ traceId: trace, spanId: spanId(1), attributes: {} }] : [],
      }),
    );
  }
  // A cycle (n-1 → n-2 → n-1) cut off from the root, and a span that is its own parent.
  spans.push(
    span({ traceId: trace, spanId: spanId(n + 1), parentSpanId: spanId(n + 2), startMs: 5, durationMs: 1 }),
  );
  spans.push(
    span({ traceId: trace, spanId: spanId(n + 2), parentSpanId: spanId(n + 1), startMs: 4, durationMs: 1 }),
  );
  spans.push(
    span({ traceId: trace, spanId: spanId(n + 3), parentSpanId: spanId(n + 3), startMs: 3, durationMs: 1 }),
  );
  const resent = spans.filter(() => rnd() < 0.05).map((s) => ({ ...s, name: 'resent copy' }));
  return [spans.slice(0, n >> 1), spans.slice(n >> 1), resent];
}

const MESSY = [1, 2, 3].map((seed) => ({ id: traceId(1000 + seed), batches: messyTrace(300, seed) }));

let store: TelemetryStore;
let dispose: () => Promise<void>;
beforeAll(async () => {
  const usersB = traceB.filter((s) => s.service === 'users');
  ({ store, dispose } = await storeWith([
    traceA,
    traceB.filter((s) => s.service !== 'users'),
    usersB,
    traceC,
    [traceA[6]!],
    ...MESSY.flatMap((m) => m.batches),
  ]));
});
afterAll(() => dispose());

const ms = (ns: bigint) => Number(ns / 1000n) / 1000;

/** What assembleTrace makes of the same spans, in the columns' terms. */
async function expected(id: string) {
  const view = (await getTraceOutline(store.reader(), id))!;
  const origin = view.startUnixNano;
  const position = new Map(view.nodes.map((n, i) => [n.span.spanId, i]));
  return {
    startMs: ms(origin),
    durationMs: ms(view.durationNs),
    spanCount: view.nodes.length,
    services: view.services,
    errorCount: view.errorCount,
    orphanCount: view.orphanCount,
    skewAdjustedCount: view.skewAdjustedCount,
    duplicateCount: view.duplicateCount,
    spanIds: view.nodes.map((n) => n.span.spanId).join(''),
    parent: view.nodes.map((n) =>
      n.orphan || n.span.parentSpanId === null ? -1 : (position.get(n.span.parentSpanId) ?? -1),
    ),
    depth: view.nodes.map((n) => n.depth),
    service: view.nodes.map((n) => n.span.service),
    instance: view.nodes.map((n) => n.span.instance),
    name: view.nodes.map((n) => n.span.name),
    kind: view.nodes.map((n) => n.span.kind),
    status: view.nodes.map((n) => n.span.statusCode),
    start: view.nodes.map((n) => ms(n.span.startUnixNano - origin)),
    duration: view.nodes.map((n) => ms(n.span.endUnixNano - n.span.startUnixNano)),
    skew: view.nodes.map((n) => ms(n.skewNs)),
    orphans: view.nodes.flatMap((n, i) =>
      n.orphan && n.span.parentSpanId !== null ? [{ index: i, parentId: n.span.parentSpanId }] : [],
    ),
    statusMessages: view.nodes.flatMap((n, i) =>
      n.span.statusMessage !== null ? [{ index: i, message: n.span.statusMessage }] : [],
    ),
    events: view.nodes.flatMap((n, i) =>
      n.span.eventMarks.map((e) => ({ index: i, time: ms(e.timeUnixNano - origin), name: e.name })),
    ),
    linkCounts: view.nodes.flatMap((n, i) =>
      n.span.linkCount > 0 ? [{ index: i, count: n.span.linkCount }] : [],
    ),
  };
}

async function actual(id: string) {
  const c = (await getOutlineColumns(store.reader(), id))!;
  return {
    startMs: c.startMs,
    durationMs: c.durationMs,
    spanCount: c.spanCount,
    services: c.services,
    errorCount: c.errorCount,
    orphanCount: c.orphanCount,
    skewAdjustedCount: c.skewAdjustedCount,
    duplicateCount: c.duplicateCount,
    spanIds: c.spanIds,
    parent: [...c.parent],
    depth: [...c.depth],
    service: [...c.service].map((i) => c.services[i]),
    instance: [...c.instance].map((i) => (i < 0 ? null : c.instances[i])),
    name: [...c.name].map((i) => c.names[i]),
    kind: [...c.kind].map((i) => OUTLINE_SPAN_KINDS[i]),
    status: [...c.status].map((i) => OUTLINE_STATUS_CODES[i]),
    start: [...c.start],
    duration: [...c.duration],
    skew: [...c.skew],
    orphans: c.orphans,
    statusMessages: c.statusMessages,
    events: c.events,
    linkCounts: c.linkCounts,
  };
}

describe('getOutlineColumns', () => {
  it.each([TRACE_A, TRACE_B, TRACE_C])('gives assembleTrace’s tree and timings for %s', async (id) => {
    expect(await actual(id)).toEqual(await expected(id));
  });

  it.each(MESSY.map((m) => m.id))('agrees with assembleTrace on a messy random trace %s', async (id) => {
    const got = await actual(id);
    expect(got.duplicateCount).toBeGreaterThan(0);
    expect(got.orphanCount).toBeGreaterThan(2);
    expect(got.skewAdjustedCount).toBeGreaterThan(0);
    expect(got).toEqual(await expected(id));
  });

  it('answers null for a trace not stored and refuses a bad id', async () => {
    expect(await getOutlineColumns(store.reader(), 'f'.repeat(32))).toBeNull();
    await expect(getOutlineColumns(store.reader(), "x' OR 1=1 --")).rejects.toThrow(/trace id/);
  });
});

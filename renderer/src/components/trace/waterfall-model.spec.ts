import { describe, expect, it } from 'vitest';
import type { TraceComparison } from '../../../../electron/api/schemas.ts';
import { changed, compareRows } from './compare-model.ts';
import {
  buildTraceModel,
  collapseService,
  collapseToDepth,
  revealRow,
  searchSpans,
  visibleRows,
  type WaterfallSpan,
} from './waterfall-model.ts';

/** A span in waterfall order; ids are names so failures read well. */
function span(
  spanId: string,
  parentId: string | null,
  depth: number,
  service: string,
  start: number,
  duration: number,
): WaterfallSpan {
  return {
    spanId,
    parentId,
    depth,
    service,
    instance: `${service}-1`,
    name: `op-${spanId}`,
    kind: 'server',
    start,
    duration,
    status: spanId === 'e' ? 'error' : 'unset',
    statusMessage: spanId === 'e' ? 'boom' : null,
    orphan: false,
    skew: 0,
  };
}

// gateway a ─┬─ gateway b ── users c ── users d
//            └─ timeline e ── users f
const spans = [
  span('a', null, 0, 'gateway', 1000, 100),
  span('b', 'a', 1, 'gateway', 1001, 40),
  span('c', 'b', 2, 'users', 1002, 30),
  span('d', 'c', 3, 'users', 1003, 10),
  span('e', 'a', 1, 'timeline', 1050, 45),
  span('f', 'e', 2, 'users', 1060, 20),
];
const ids = (model: ReturnType<typeof buildTraceModel>, rows: Int32Array) =>
  [...rows].map((i) => model.spans[i]!.spanId);

describe('the waterfall model', () => {
  const model = buildTraceModel('t', spans);

  it('indexes the tree once: parents, children, subtree ends, services, time range', () => {
    expect([...model.parentIndex]).toEqual([-1, 0, 1, 2, 0, 4]);
    expect([...model.childCount]).toEqual([2, 1, 1, 0, 1, 0]);
    expect([...model.subtreeEnd]).toEqual([6, 4, 4, 4, 6, 6]);
    expect(model.services).toEqual(['gateway', 'users', 'timeline']);
    expect(model.start).toBe(1000);
    expect(model.duration).toBe(100);
  });

  it('hides a folded subtree and shows it again', () => {
    const collapsed = new Uint8Array(spans.length);
    collapsed[1] = 1;
    expect(ids(model, visibleRows(model, collapsed))).toEqual(['a', 'b', 'e', 'f']);
    collapseToDepth(model, collapsed, 1);
    expect(ids(model, visibleRows(model, collapsed))).toEqual(['a', 'b', 'e']);
    collapseToDepth(model, collapsed, 0);
    expect(ids(model, visibleRows(model, collapsed))).toEqual(['a']);
  });

  it('folds every call into a service where it is entered from another one', () => {
    const collapsed = new Uint8Array(spans.length);
    collapseService(model, collapsed, 'users', true);
    // c is entered from gateway (folds its child d); f has no children (nothing to fold).
    expect(ids(model, visibleRows(model, collapsed))).toEqual(['a', 'b', 'c', 'e', 'f']);
    collapseService(model, collapsed, 'users', false);
    expect(visibleRows(model, collapsed).length).toBe(6);
  });

  it('finds spans by name, service, status message and attribute, and opens their ancestors', () => {
    expect(ids(model, searchSpans(model, 'TIMELINE'))).toEqual(['e']);
    expect(ids(model, searchSpans(model, 'boom'))).toEqual(['e']);
    const attrs = (i: number) => ({ 'http.route': i === 3 ? '/v1/users/:id' : '/other' });
    expect(ids(model, searchSpans(model, 'http.route=/v1/users', attrs))).toEqual(['d']);
    const collapsed = new Uint8Array(spans.length);
    collapseToDepth(model, collapsed, 0);
    revealRow(model, collapsed, 3);
    expect(ids(model, visibleRows(model, collapsed))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('comparison rows', () => {
  it('puts each structural position once, in A order, with B-only spans after what precedes them in B', () => {
    const a = {
      start: 0,
      spans: [
        span('a', null, 0, 'gateway', 0, 10),
        span('b', 'a', 1, 'users', 1, 5),
        span('c', 'a', 1, 'auth', 6, 2),
      ],
    };
    const b = {
      start: 0,
      spans: [
        span('A', null, 0, 'gateway', 0, 30),
        span('B', 'A', 1, 'users', 1, 25),
        span('X', 'B', 2, 'users', 2, 20),
      ],
    };
    const cmp: TraceComparison = {
      traceIdA: 'a',
      traceIdB: 'b',
      durationA: 10,
      durationB: 30,
      durationDelta: 20,
      matched: [
        {
          key: '/g#0',
          service: 'gateway',
          name: 'op-a',
          spanIdA: 'a',
          spanIdB: 'A',
          durationA: 10,
          durationB: 30,
          delta: 20,
          statusA: 'unset',
          statusB: 'unset',
        },
        {
          key: '/g#0/u#0',
          service: 'users',
          name: 'op-b',
          spanIdA: 'b',
          spanIdB: 'B',
          durationA: 5,
          durationB: 5.2,
          delta: 0.2,
          statusA: 'unset',
          statusB: 'unset',
        },
      ],
      added: [{ key: '/g#0/u#0/u#0', service: 'users', name: 'op-X', spanId: 'X', duration: 20 }],
      removed: [{ key: '/g#0/a#0', service: 'auth', name: 'op-c', spanId: 'c', duration: 2 }],
    };
    const rows = compareRows(cmp, a, b);
    expect(rows.map((r) => [r.key, r.kind])).toEqual([
      ['/g#0', 'matched'],
      ['/g#0/u#0', 'matched'],
      ['/g#0/u#0/u#0', 'added'],
      ['/g#0/a#0', 'removed'],
    ]);
    expect(rows.map(changed)).toEqual([true, false, true, true]);
  });
});

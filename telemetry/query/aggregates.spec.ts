import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../model/telemetry.ts';
import { MS, span, spanId, T0, traceId } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { breakerTimeline } from './breakers.ts';
import { at, breakerLog, traceA, traceB } from './fixtures/world.ts';
import { storeWith } from './fixtures/store.ts';
import { InvalidQueryError } from './params.ts';
import { red, redByRoute } from './red.ts';
import { serviceGraph } from './service-graph.ts';

/**
 * RED fixture, tweets' server spans from 10 s on, steps of one second:
 *   step 0 (10.0–11.0 s): /tweets 10, 20, 30, 40 ms (the 40 ms one failed); plus a client span
 *                         and a server span of another service, both to be ignored
 *   step 1 (11.0–12.0 s): nothing
 *   step 2 (12.0–13.0 s): /tweets/:id 5 ms, /tweets 100 ms
 *   outside: 9.999 s and 13.0 s exactly
 */
let n = 0;
const tweetsServer = (startMs: number, durationMs: number, route: string, extra: Partial<SpanRecord> = {}) =>
  span({
    traceId: traceId(0x7000 + ++n),
    spanId: spanId(0x7000 + n),
    service: 'tweets',
    name: `GET ${route}`,
    startMs,
    durationMs,
    attributes: { 'http.route': route },
    ...extra,
  });
const redSpans: SpanRecord[] = [
  tweetsServer(10_000, 10, '/tweets'),
  tweetsServer(10_100, 20, '/tweets'),
  tweetsServer(10_200, 30, '/tweets'),
  tweetsServer(10_900, 40, '/tweets', { statusCode: 'error' }),
  tweetsServer(10_500, 999, '/tweets', { kind: 'client' }),
  tweetsServer(10_500, 999, '/tweets', { service: 'users' }),
  tweetsServer(12_000, 5, '/tweets/:id'),
  tweetsServer(12_999, 100, '/tweets'),
  tweetsServer(9_999, 999, '/tweets'),
  tweetsServer(13_000, 999, '/tweets'),
];

/**
 * Breaker fixture, window 18–28 s:
 *   15 s   log  timeline  timeline→tweets closed→open   (before the window: sets the initial state)
 *   20.05 s span gateway  gateway→users  closed→open    (also reported as a log: counted once)
 *   21 s   log  gateway   some other event              (ignored)
 *   22 s   log  gateway   breaker.transition without breaker.to (ignored)
 *   25 s   log  gateway   gateway→users  open→half-open
 *   25.1 s log  gateway   gateway→users  half-open→closed
 *   30 s   log  timeline  timeline→tweets open→closed   (after the window)
 */
const transition = (breaker: string, from: string, to: string) => ({
  'event.name': 'breaker.transition',
  'breaker.name': breaker,
  'breaker.from': from,
  'breaker.to': to,
});
const breakerSpan = span({
  traceId: traceId(0xb7ea),
  spanId: spanId(0xb7ea),
  name: 'GET /api/users/:handle',
  startMs: 20_000,
  durationMs: 100,
  events: [
    {
      timeUnixNano: T0 + 20_050n * MS,
      name: 'breaker.transition',
      attributes: {
        'breaker.name': 'gateway→users',
        'breaker.from': 'closed',
        'breaker.to': 'open',
        'breaker.reason': 'error rate 60%',
      },
    },
    {
      timeUnixNano: T0 + 20_060n * MS,
      name: 'exception',
      attributes: { 'exception.message': 'breaker.transition' },
    },
  ],
});
const logs = [
  breakerLog(15_000, 'timeline', transition('timeline→tweets', 'closed', 'open')),
  breakerLog(20_050, 'gateway', transition('gateway→users', 'closed', 'open')),
  breakerLog(21_000, 'gateway', { 'event.name': 'fault.applied', 'breaker.name': 'gateway→users' }),
  breakerLog(22_000, 'gateway', {
    'event.name': 'breaker.transition',
    'breaker.name': 'gateway→users',
    'breaker.from': 'open',
  }),
  breakerLog(25_000, 'gateway', transition('gateway→users', 'open', 'half-open')),
  breakerLog(25_100, 'gateway', transition('gateway→users', 'half-open', 'closed')),
  breakerLog(30_000, 'timeline', transition('timeline→tweets', 'open', 'closed')),
];

let store: TelemetryStore;
/** Requests from outside at 50 s: loadgen's (its user agent) and a person's; only loadgen's make an edge. */
const outsideSpans: SpanRecord[] = [
  ['chaoscope-loadgen', 12],
  ['chaoscope-loadgen', 18],
  ['curl/8.5.0', 5],
].map(([agent, durationMs], i) =>
  span({
    traceId: traceId(0x9000 + i),
    spanId: spanId(0x9000 + i),
    service: 'gateway',
    name: 'GET /api/timeline',
    startMs: 50_000 + i * 100,
    durationMs: durationMs as number,
    attributes: { 'http.route': '/api/timeline', 'user_agent.original': agent as string },
  }),
);

let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ store, dispose } = await storeWith([traceA, traceB, redSpans, [breakerSpan], outsideSpans], logs));
});
afterAll(() => dispose());

describe('serviceGraph', () => {
  it('builds edges from cross-service parent→child pairs, with rate, errors and caller-side latency', async () => {
    const graph = await serviceGraph(store.reader(), { from: at(0), to: at(2000) });
    expect(graph.services).toEqual(['gateway', 'timeline', 'tweets', 'users']);
    expect(graph.edges).toEqual([
      // b7: gateway called tweets, failed, and no tweets span ever came.
      {
        client: 'gateway',
        server: 'timeline',
        requests: 1,
        ratePerSecond: 0.5,
        errors: 0,
        errorPercent: 0,
        latencyMs: { p50: 60, p95: 60, p99: 60 },
        unanswered: 0,
      },
      {
        client: 'gateway',
        server: 'tweets',
        requests: 1,
        ratePerSecond: 0.5,
        errors: 1,
        errorPercent: 100,
        latencyMs: { p50: 30, p95: 30, p99: 30 },
        unanswered: 1,
      },
      // a6→a7 (25 ms, a7 failed) and b2→b3 (40 ms).
      {
        client: 'gateway',
        server: 'users',
        requests: 2,
        ratePerSecond: 1,
        errors: 1,
        errorPercent: 50,
        latencyMs: { p50: 32.5, p95: expect.closeTo(39.25, 9), p99: expect.closeTo(39.85, 9) },
        unanswered: 0,
      },
      {
        client: 'timeline',
        server: 'tweets',
        requests: 1,
        ratePerSecond: 0.5,
        errors: 0,
        errorPercent: 0,
        latencyMs: { p50: 20, p95: 20, p99: 20 },
        unanswered: 0,
      },
    ]);
  });

  it("draws loadgen's requests (root server spans with its user agent) as a loadgen→service edge", async () => {
    const graph = await serviceGraph(store.reader(), { from: at(49_000), to: at(51_000) });
    expect(graph.edges).toEqual([
      {
        client: 'loadgen',
        server: 'gateway',
        requests: 2,
        ratePerSecond: 1,
        errors: 0,
        errorPercent: 0,
        latencyMs: { p50: 15, p95: expect.closeTo(17.7, 9), p99: expect.closeTo(17.94, 9) },
        unanswered: 0,
      },
    ]);
  });

  it('counts only pairs whose spans start inside the window', async () => {
    const graph = await serviceGraph(store.reader(), { from: at(500), to: at(1500) });
    expect(graph.edges.map((e) => [e.client, e.server, e.requests])).toEqual([
      ['gateway', 'tweets', 1],
      ['gateway', 'users', 1],
    ]);
    await expect(serviceGraph(store.reader(), { from: at(10), to: at(5) })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
  });
});

describe('red', () => {
  const window = { service: 'tweets', from: at(10_000), to: at(13_000), stepMs: 1000 };

  it('gives rate, errors and duration percentiles per step, empty steps included', async () => {
    const series = await red(store.reader(), window);
    expect(series.route).toBeNull();
    expect(series.points).toEqual([
      {
        time: at(10_000),
        requests: 4,
        ratePerSecond: 4,
        errors: 1,
        errorPercent: 25,
        // Linear interpolation over 10, 20, 30, 40: rank (n - 1) p.
        durationMs: {
          p50: 25,
          p90: expect.closeTo(37, 9),
          p95: expect.closeTo(38.5, 9),
          p99: expect.closeTo(39.7, 9),
        },
      },
      { time: at(11_000), requests: 0, ratePerSecond: 0, errors: 0, errorPercent: 0, durationMs: null },
      {
        time: at(12_000),
        requests: 2,
        ratePerSecond: 2,
        errors: 0,
        errorPercent: 0,
        durationMs: {
          p50: 52.5,
          p90: expect.closeTo(90.5, 9),
          p95: expect.closeTo(95.25, 9),
          p99: expect.closeTo(99.05, 9),
        },
      },
    ]);
  });

  it('narrows to one route, or splits by route', async () => {
    const one = await red(store.reader(), { ...window, route: '/tweets/:id' });
    expect(one.points.map((p) => p.requests)).toEqual([0, 0, 1]);
    expect(one.points[2]!.durationMs).toEqual({ p50: 5, p90: 5, p95: 5, p99: 5 });
    const byRoute = await redByRoute(store.reader(), window);
    expect(byRoute.map((s) => [s.route, s.points.map((p) => p.requests)])).toEqual([
      ['/tweets', [4, 0, 1]],
      ['/tweets/:id', [0, 0, 1]],
    ]);
    const none = await red(store.reader(), { ...window, service: 'nobody' });
    expect(none.points.map((p) => p.requests)).toEqual([0, 0, 0]);
  });

  it('prorates a short last step and refuses too many steps', async () => {
    const series = await red(store.reader(), { ...window, to: at(12_500) });
    expect(series.points.map((p) => [p.requests, p.ratePerSecond])).toEqual([
      [4, 4],
      [0, 0],
      [1, 2],
    ]);
    await expect(red(store.reader(), { ...window, stepMs: 0.1 })).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe('breakerTimeline', () => {
  it('collects transitions from span events and log records, once each', async () => {
    const timeline = await breakerTimeline(store.reader(), { from: at(18_000), to: at(28_000) });
    expect(timeline.transitions.map((t) => [t.time, t.service, t.breaker, t.from, t.to, t.source])).toEqual([
      [at(20_050), 'gateway', 'gateway→users', 'closed', 'open', 'span-event'],
      [at(25_000), 'gateway', 'gateway→users', 'open', 'half-open', 'log'],
      [at(25_100), 'gateway', 'gateway→users', 'half-open', 'closed', 'log'],
    ]);
    expect(timeline.transitions[0]).toMatchObject({
      reason: 'error rate 60%',
      traceId: traceId(0xb7ea),
      spanId: spanId(0xb7ea),
      instance: 'gateway-1',
    });
  });

  it('gives per-circuit state at both ends, counts and time in each state', async () => {
    const timeline = await breakerTimeline(store.reader(), { from: at(18_000), to: at(28_000) });
    expect(timeline.circuits).toEqual([
      {
        service: 'gateway',
        breaker: 'gateway→users',
        initialState: null,
        finalState: 'closed',
        transitions: 3,
        opened: 1,
        timeInStateMs: { open: 4950, 'half-open': 100, closed: 2900 },
        lastTransition: at(25_100),
      },
      {
        service: 'timeline',
        breaker: 'timeline→tweets',
        initialState: 'open',
        finalState: 'open',
        transitions: 0,
        opened: 0,
        timeInStateMs: { open: 10_000 },
        lastTransition: null,
      },
    ]);
  });
});

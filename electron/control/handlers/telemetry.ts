/** traces.*, telemetry.* and collector.stats: telemetry/query over the store, in the API's units. */
import { ApiError } from '../../api/errors.ts';
import type { Attributes, Span, Trace } from '../../api/schemas.ts';
import type { SpanRecord } from '../../../telemetry/model/telemetry.ts';
import {
  breakerTimeline,
  compareTraces,
  criticalPath,
  exportTraceAsOtlpJson,
  getTrace,
  getTraceOutline,
  red,
  redByRoute,
  searchTraces,
  serviceGraph,
  type TraceView,
} from '../../../telemetry/query/index.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

type TelemetryHandlers = Pick<
  Handlers,
  | 'traces.search'
  | 'traces.get'
  | 'traces.compare'
  | 'traces.export'
  | 'telemetry.graph'
  | 'telemetry.red'
  | 'telemetry.breakerTimeline'
  | 'telemetry.criticalPath'
  | 'collector.stats'
>;

const DEFAULT_WINDOW_MS = 15 * 60_000;

/** Nanoseconds (bigint) to milliseconds, keeping microseconds. */
export const nsToMs = (ns: bigint): number => Number(ns / 1000n) / 1000;

function window(input: { from?: number | undefined; to?: number | undefined }): { from: number; to: number } {
  const to = input.to ?? Date.now();
  const from = input.from ?? to - DEFAULT_WINDOW_MS;
  if (!(to > from)) throw new ApiError('BAD_REQUEST', '`to` must be after `from`');
  return { from, to };
}

/** JSON-safe attributes (the store gives JSON values already; bigints cannot appear). */
const attrs = (a: Attributes | SpanRecord['attributes']): Attributes => a;

/** One stored span in the API's units, without the fields only its place in a tree gives. */
export function spanToApi(s: SpanRecord): Omit<Span, 'depth' | 'orphan' | 'skew'> {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentId: s.parentSpanId,
    service: s.service,
    instance: s.instance,
    name: s.name,
    kind: s.kind,
    start: nsToMs(s.startUnixNano),
    duration: nsToMs(s.endUnixNano - s.startUnixNano),
    status: s.statusCode,
    statusMessage: s.statusMessage,
    attributes: attrs(s.attributes),
    resource: attrs(s.resource),
    events: s.events.map((e) => ({
      time: nsToMs(e.timeUnixNano),
      name: e.name,
      attributes: attrs(e.attributes),
    })),
    links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) })),
  };
}

export function traceToApi(view: TraceView): Trace {
  const spans: Span[] = view.nodes.map((node) => ({
    ...spanToApi(node.span),
    depth: node.depth,
    orphan: node.orphan,
    skew: nsToMs(node.skewNs),
  }));
  return {
    traceId: view.traceId,
    start: nsToMs(view.startUnixNano),
    duration: nsToMs(view.durationNs),
    services: [...view.services],
    errorCount: view.errorCount,
    orphanCount: view.orphanCount,
    skewAdjustedCount: view.skewAdjustedCount,
    duplicateCount: view.duplicateCount,
    spans,
  };
}

export function telemetryHandlers(ctx: ControlContext): TelemetryHandlers {
  const { telemetry } = ctx;
  const trace = async (traceId: string) => {
    const view = await telemetry.query((reader) => getTrace(reader, traceId));
    if (!view) throw new ApiError('NOT_FOUND', `no span of trace ${traceId} is stored`);
    return view;
  };
  // Comparison and the critical path need the tree and timings only: the outline is several
  // times cheaper to read than whole spans (it matters at 50,000 spans).
  const outline = async (traceId: string) => {
    const view = await telemetry.query((reader) => getTraceOutline(reader, traceId));
    if (!view) throw new ApiError('NOT_FOUND', `no span of trace ${traceId} is stored`);
    return view;
  };

  return {
    'traces.search': async (input) => {
      const { from, to, ...rest } = input;
      const found = await telemetry.query((reader) =>
        searchTraces(reader, {
          ...rest,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      );
      return {
        traces: found.map((t) => ({
          traceId: t.traceId,
          rootService: t.rootService,
          rootName: t.rootName,
          start: nsToMs(t.startUnixNano),
          duration: t.durationMs,
          spanCount: t.spanCount,
          errorCount: t.errorCount,
          services: [...t.services],
        })),
      };
    },

    'traces.get': async ({ traceId }) => traceToApi(await trace(traceId)),

    'traces.compare': async ({ a, b }) => {
      const c = compareTraces(await outline(a), await outline(b));
      const unmatched = (u: (typeof c.added)[number]) => ({
        key: u.key,
        service: u.service,
        name: u.name,
        spanId: u.spanId,
        duration: nsToMs(u.durationNs),
      });
      return {
        traceIdA: c.traceIdA,
        traceIdB: c.traceIdB,
        durationA: nsToMs(c.durationNsA),
        durationB: nsToMs(c.durationNsB),
        durationDelta: nsToMs(c.durationDeltaNs),
        matched: c.matched.map((m) => ({
          key: m.key,
          service: m.service,
          name: m.name,
          spanIdA: m.spanIdA,
          spanIdB: m.spanIdB,
          durationA: nsToMs(m.durationNsA),
          durationB: nsToMs(m.durationNsB),
          delta: nsToMs(m.deltaNs),
          statusA: m.statusA,
          statusB: m.statusB,
        })),
        added: c.added.map(unmatched),
        removed: c.removed.map(unmatched),
      };
    },

    'traces.export': async ({ traceId, format }) => {
      const data = await telemetry.query((reader) => exportTraceAsOtlpJson(reader, traceId));
      if (!data) throw new ApiError('NOT_FOUND', `no span of trace ${traceId} is stored`);
      return { traceId, format, data: JSON.parse(JSON.stringify(data)) as never };
    },

    'telemetry.graph': async (input) => {
      const graph = await telemetry.query((reader) => serviceGraph(reader, window(input)));
      return {
        from: graph.from,
        to: graph.to,
        services: [...graph.services],
        edges: graph.edges.map((e) => ({ ...e })),
      };
    },

    'telemetry.red': async ({ service, route, byRoute, stepMs, ...range }) => {
      const w = window(range);
      const series = await telemetry.query(async (reader) =>
        byRoute
          ? redByRoute(reader, { service, ...w, stepMs })
          : [await red(reader, { service, ...(route ? { route } : {}), ...w, stepMs })],
      );
      return { series: series.map((s) => ({ ...s, points: s.points.map((p) => ({ ...p })) })) };
    },

    'telemetry.breakerTimeline': async (input) => {
      const t = await telemetry.query((reader) => breakerTimeline(reader, window(input)));
      return {
        from: t.from,
        to: t.to,
        transitions: t.transitions.map(({ timeUnixNano: _ns, ...rest }) => rest),
        circuits: t.circuits.map((c) => ({ ...c, timeInStateMs: { ...c.timeInStateMs } })),
      };
    },

    'telemetry.criticalPath': async ({ traceId, rootSpanId }) => {
      const path = criticalPath(await outline(traceId), rootSpanId);
      if (!path)
        throw new ApiError(
          'NOT_FOUND',
          `trace ${traceId} has no span ${rootSpanId ?? '(root)'} to start from`,
        );
      return {
        traceId,
        rootSpanId: path.rootSpanId,
        segments: path.segments.map((s) => ({
          spanId: s.spanId,
          service: s.service,
          name: s.name,
          start: nsToMs(s.startUnixNano),
          end: nsToMs(s.endUnixNano),
          duration: nsToMs(s.durationNs),
        })),
        bySpan: path.bySpan.map((s) => ({
          spanId: s.spanId,
          service: s.service,
          name: s.name,
          duration: nsToMs(s.durationNs),
        })),
      };
    },

    'collector.stats': async () => telemetry.stats(),
  };
}

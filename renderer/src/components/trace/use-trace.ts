/**
 * Loads one trace for the trace view: its outline first (`traces.outline`: the tree and timings,
 * packed; the waterfall model is built once from it), then the critical path and the markers of
 * what happened around it (breaker transitions from the store, faults active during it). A span's
 * attributes, resource, events and links are fetched when it is opened (`traces.span`), once.
 */
import { shallowRef, ref, watch, type Ref } from 'vue';
import type { CriticalPath, Span } from '../../../../electron/api/schemas.ts';
import { api } from '../../api/index.ts';
import { describeError, errorCode } from '../../api/errors.ts';
import type { Marker } from '../charts/markers.ts';
import { unpackOutline, type OutlineSummary } from './outline.ts';
import { buildTraceModel, type TraceModel } from './waterfall-model.ts';

export type SpanDetails = Pick<Span, 'attributes' | 'resource' | 'events' | 'links'>;

export interface LoadedTrace {
  readonly trace: OutlineSummary;
  readonly model: TraceModel;
}

export function useTrace(traceId: Ref<string>) {
  const loaded = shallowRef<LoadedTrace | null>(null);
  const error = ref<string | null>(null);
  const notFound = ref(false);
  const loading = ref(false);
  const critical = shallowRef<CriticalPath | null>(null);
  const markers = shallowRef<Marker[]>([]);
  /** How long the load and the model build took, ms (shown in the header, read by the bench). */
  const timings = ref<{ fetchMs: number; buildMs: number } | null>(null);
  let generation = 0;

  async function load(id: string): Promise<void> {
    const mine = ++generation;
    loading.value = true;
    error.value = null;
    notFound.value = false;
    loaded.value = null;
    critical.value = null;
    markers.value = [];
    try {
      const t0 = performance.now();
      const outline = await api.traces.outline({ traceId: id });
      const t1 = performance.now();
      if (mine !== generation) return;
      const { summary, spans } = unpackOutline(outline);
      const t2 = performance.now();
      const model = buildTraceModel(summary.traceId, spans);
      const t3 = performance.now();
      cache.clear();
      loaded.value = { trace: summary, model };
      timings.value = { fetchMs: t1 - t0, buildMs: t3 - t1 };
      // Named measures for the bench (bench/trace-view.ts) and the Performance panel.
      performance.measure('trace:outline call', { start: t0, end: t1 });
      performance.measure('trace:unpack', { start: t1, end: t2 });
      performance.measure('trace:model', { start: t2, end: t3 });
      void loadCriticalPath(id, mine);
      void loadMarkers(summary, mine);
    } catch (e) {
      if (mine !== generation) return;
      if (errorCode(e) === 'NOT_FOUND') notFound.value = true;
      else error.value = describeError(e);
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  async function loadCriticalPath(id: string, mine: number): Promise<void> {
    try {
      const path = await api.telemetry.criticalPath({ traceId: id });
      if (mine === generation) critical.value = path;
    } catch {
      // A trace without a usable root has no critical path; the toggle just stays empty.
    }
  }

  /** Breaker transitions stored around the trace, and faults active while it ran. */
  async function loadMarkers(trace: OutlineSummary, mine: number): Promise<void> {
    const from = trace.start - 1_000;
    const to = trace.start + trace.duration + 1_000;
    const out: Marker[] = [];
    const [timeline, faults] = await Promise.allSettled([
      api.telemetry.breakerTimeline({ from, to }),
      api.faults.list({}),
    ]);
    if (timeline.status === 'fulfilled') {
      for (const t of timeline.value.transitions) {
        out.push({
          time: t.time,
          kind: 'breaker',
          label: `${t.breaker}: ${t.from} → ${t.to}`,
          detail: t.reason ?? undefined,
          key: `breaker:${t.breaker}:${t.time}:${t.to}`,
        });
      }
    }
    if (faults.status === 'fulfilled') {
      for (const f of faults.value.faults) {
        const start = Date.parse(f.createdAt);
        const end = f.expiresAt ? Date.parse(f.expiresAt) : Infinity;
        if (start <= to && end >= from) {
          out.push({
            time: start,
            kind: 'fault',
            label: `${f.kind} fault on ${f.service}${f.route ? ` ${f.route}` : ''}`,
            detail: `${f.instanceId}, probability ${f.probability}`,
            key: `fault:${f.id}:${f.instanceId}`,
          });
        }
      }
    }
    if (mine === generation) markers.value = out.sort((a, b) => a.time - b.time);
  }

  /** Details already fetched, by span index (a span is asked for once per load). */
  const cache = new Map<number, SpanDetails>();

  /** One span's attributes, resource, events and links, fetched when it is opened. */
  async function details(index: number): Promise<SpanDetails | null> {
    const current = loaded.value;
    const span = current?.model.spans[index];
    if (!current || !span) return null;
    const known = cache.get(index);
    if (known) return known;
    const full = await api.traces.span({ traceId: current.model.traceId, spanId: span.spanId });
    const d: SpanDetails = {
      attributes: full.attributes,
      resource: full.resource,
      events: full.events,
      links: full.links,
    };
    if (loaded.value === current) cache.set(index, d);
    return d;
  }

  watch(traceId, (id) => void load(id), { immediate: true });

  return {
    loaded,
    error,
    notFound,
    loading,
    critical,
    markers,
    timings,
    details,
    reload: () => load(traceId.value),
  };
}

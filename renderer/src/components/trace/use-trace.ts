/**
 * Loads one trace for the trace view: the spans (the waterfall model is built once from them),
 * the critical path, and the markers of what happened around it (breaker transitions from the
 * store, faults active during it). Span details are asked for one span at a time.
 *
 * The contract has no outline/one-span commands yet (telemetry/query has getTraceOutline and
 * getSpan), so the first paint waits for the whole trace and details come from it; the two
 * functions below are the only places to change when those commands arrive.
 */
import { shallowRef, ref, watch, type Ref } from 'vue';
import type { CriticalPath, Span, Trace } from '../../../../electron/api/schemas.ts';
import { api } from '../../api/index.ts';
import { describeError, errorCode } from '../../api/errors.ts';
import type { Marker } from '../charts/markers.ts';
import { buildTraceModel, type TraceModel } from './waterfall-model.ts';

export type SpanDetails = Pick<Span, 'attributes' | 'resource' | 'events' | 'links'>;

export interface LoadedTrace {
  readonly trace: Omit<Trace, 'spans'>;
  readonly model: TraceModel;
  /** Full spans by index while the contract sends them whole. */
  readonly full: readonly Span[];
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
      const trace = await api.traces.get({ traceId: id });
      const t1 = performance.now();
      if (mine !== generation) return;
      const model = buildTraceModel(trace.traceId, trace.spans);
      const { spans, ...summary } = trace;
      loaded.value = { trace: summary, model, full: spans };
      timings.value = { fetchMs: t1 - t0, buildMs: performance.now() - t1 };
      void loadCriticalPath(id, mine);
      void loadMarkers(trace, mine);
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
  async function loadMarkers(trace: Trace, mine: number): Promise<void> {
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

  /** One span's attributes, resource, events and links, fetched when it is opened. */
  async function details(index: number): Promise<SpanDetails | null> {
    const span = loaded.value?.full[index];
    if (!span) return null;
    return { attributes: span.attributes, resource: span.resource, events: span.events, links: span.links };
  }

  /** Attribute values for in-trace search (only when the spans carry them). */
  const attributesOf = (index: number) => loaded.value?.full[index]?.attributes;

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
    attributesOf,
    reload: () => load(traceId.value),
  };
}

import type { Attributes } from '../model/telemetry.ts';
import { spanIdFromBigInt, traceIdFromBigInt } from '../store/ids.ts';
import type { TelemetryReader } from '../store/reader.ts';
import { msToNs, nsToMs, parseParams } from './params.ts';
import { windowSchema, type TimeWindow } from './service-graph.ts';

/**
 * The breaker transition convention. Instrumentation reports each change of a circuit breaker's
 * state as either
 * - a span event named `breaker.transition` (on the span of the call that caused it, when there
 *   is one), or
 * - a log record whose `event.name` attribute is `breaker.transition` (when no span is active,
 *   e.g. a timer half-opening the breaker or an operator forcing it),
 * with the attributes `breaker.name` (which breaker, e.g. "gateway→users"), `breaker.from` and
 * `breaker.to` (states: closed, open, half-open, forced-open, forced-closed — as
 * sample-cluster/kit/breaker.ts names them) and optionally `breaker.reason`. The breaker belongs
 * to the service that emitted the record. Reporting one transition both ways is harmless: the
 * timeline counts it once.
 */
export const BREAKER_TRANSITION_EVENT = 'breaker.transition';
export const BREAKER_NAME_ATTRIBUTE = 'breaker.name';
export const BREAKER_FROM_ATTRIBUTE = 'breaker.from';
export const BREAKER_TO_ATTRIBUTE = 'breaker.to';
export const BREAKER_REASON_ATTRIBUTE = 'breaker.reason';
/** Where a log record carries its event name (OpenTelemetry's event convention). */
export const EVENT_NAME_ATTRIBUTE = 'event.name';

const OPEN_STATES = new Set(['open', 'forced-open']);

export interface BreakerTransitionRecord {
  readonly time: number;
  readonly timeUnixNano: bigint;
  readonly service: string;
  readonly instance: string | null;
  readonly breaker: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string | null;
  readonly source: 'span-event' | 'log';
  readonly traceId: string | null;
  readonly spanId: string | null;
}

export interface CircuitStats {
  readonly service: string;
  readonly breaker: string;
  /** The state at `from` (from the last transition before it), null when none is known. */
  readonly initialState: string | null;
  /** The state at `to`. */
  readonly finalState: string | null;
  readonly transitions: number;
  /** Transitions into open or forced-open. */
  readonly opened: number;
  /** Milliseconds spent in each state within the window, where the state is known. */
  readonly timeInStateMs: Readonly<Record<string, number>>;
  readonly lastTransition: number | null;
}

export interface BreakerTimeline {
  readonly from: number;
  readonly to: number;
  /** Transitions inside the window, oldest first. */
  readonly transitions: readonly BreakerTransitionRecord[];
  readonly circuits: readonly CircuitStats[];
}

interface StoredEvent {
  readonly timeUnixNano: string;
  readonly name: string;
  readonly attributes: Attributes;
}

function fromAttributes(
  attributes: Attributes,
  base: Omit<BreakerTransitionRecord, 'breaker' | 'from' | 'to' | 'reason'>,
): BreakerTransitionRecord | null {
  const breaker = attributes[BREAKER_NAME_ATTRIBUTE];
  const from = attributes[BREAKER_FROM_ATTRIBUTE];
  const to = attributes[BREAKER_TO_ATTRIBUTE];
  const reason = attributes[BREAKER_REASON_ATTRIBUTE];
  if (typeof breaker !== 'string' || typeof from !== 'string' || typeof to !== 'string') return null;
  return { ...base, breaker, from, to, reason: typeof reason === 'string' ? reason : null };
}

/**
 * Breaker transitions in a window and, per circuit (service + breaker name), its state at the
 * start and end, how often it changed and opened, and how long it spent in each state.
 */
export async function breakerTimeline(reader: TelemetryReader, window: TimeWindow): Promise<BreakerTimeline> {
  const { from, to } = parseParams(windowSchema, window, 'breaker timeline window');
  const toNs = msToNs(to);
  const fromNs = msToNs(from);
  // Everything up to `to`, not just the window: the last transition before it gives the state at `from`.
  const spanRows = await reader.rows(
    `SELECT trace_id, span_id, service, instance, events FROM spans
     WHERE events IS NOT NULL AND start_ns <= ${toNs} AND contains(events, '"${BREAKER_TRANSITION_EVENT}"')`,
  );
  const logRows = await reader.rows(
    `SELECT trace_id, span_id, service, instance, time_ns, attributes FROM log_records
     WHERE event_name = '${BREAKER_TRANSITION_EVENT}' AND time_ns <= ${toNs}`,
  );
  const all: BreakerTransitionRecord[] = [];
  for (const r of spanRows) {
    for (const e of JSON.parse(r.events as string) as StoredEvent[]) {
      if (e.name !== BREAKER_TRANSITION_EVENT) continue;
      const timeUnixNano = BigInt(e.timeUnixNano);
      if (timeUnixNano > toNs) continue;
      const t = fromAttributes(e.attributes, {
        time: nsToMs(timeUnixNano),
        timeUnixNano,
        service: r.service as string,
        instance: (r.instance as string | null) ?? null,
        source: 'span-event',
        traceId: traceIdFromBigInt(r.trace_id as bigint),
        spanId: spanIdFromBigInt(r.span_id as bigint),
      });
      if (t) all.push(t);
    }
  }
  for (const r of logRows) {
    const timeUnixNano = r.time_ns as bigint;
    const t = fromAttributes(JSON.parse(r.attributes as string) as Attributes, {
      time: nsToMs(timeUnixNano),
      timeUnixNano,
      service: r.service as string,
      instance: (r.instance as string | null) ?? null,
      source: 'log',
      traceId: typeof r.trace_id === 'bigint' ? traceIdFromBigInt(r.trace_id) : null,
      spanId: typeof r.span_id === 'bigint' ? spanIdFromBigInt(r.span_id) : null,
    });
    if (t) all.push(t);
  }
  all.sort((a, b) => (a.timeUnixNano < b.timeUnixNano ? -1 : a.timeUnixNano > b.timeUnixNano ? 1 : 0));
  const unique = new Map<string, BreakerTransitionRecord>();
  for (const t of all) {
    const key = [t.service, t.instance, t.breaker, t.timeUnixNano, t.from, t.to].join('\u0000');
    if (!unique.has(key)) unique.set(key, t);
  }
  const transitions = [...unique.values()];

  const circuits = new Map<string, BreakerTransitionRecord[]>();
  for (const t of transitions) {
    const key = `${t.service}\u0000${t.breaker}`;
    const list = circuits.get(key) ?? [];
    list.push(t);
    circuits.set(key, list);
  }
  const stats = [...circuits.values()].map((list): CircuitStats => {
    const before = list.filter((t) => t.timeUnixNano < fromNs);
    const inside = list.filter((t) => t.timeUnixNano >= fromNs);
    let state = before.at(-1)?.to ?? null;
    const initialState = state;
    let since = from;
    const timeInStateMs: Record<string, number> = {};
    const spend = (until: number) => {
      if (state !== null) timeInStateMs[state] = (timeInStateMs[state] ?? 0) + (until - since);
    };
    for (const t of inside) {
      spend(t.time);
      state = t.to;
      since = t.time;
    }
    spend(to);
    const first = list[0]!;
    return {
      service: first.service,
      breaker: first.breaker,
      initialState,
      finalState: state,
      transitions: inside.length,
      opened: inside.filter((t) => OPEN_STATES.has(t.to)).length,
      timeInStateMs,
      lastTransition: inside.at(-1)?.time ?? null,
    };
  });
  stats.sort((a, b) => a.service.localeCompare(b.service) || a.breaker.localeCompare(b.breaker));
  return { from, to, transitions: transitions.filter((t) => t.timeUnixNano >= fromNs), circuits: stats };
}

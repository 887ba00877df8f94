import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { ATTR_BREAKER_NAME, ATTR_PEER_SERVICE } from './http-client.ts';
import type { BreakerSnapshotLike, Observation, OutboxStatsLike } from './types.ts';

/**
 * The state as a number, so one time series per breaker carries it (a state attribute would leave
 * a stale series behind at every change).
 */
export const BREAKER_STATE_VALUES: Readonly<Record<string, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
  'forced-open': 3,
  'forced-closed': 4,
};

const LATENCY_PERCENTILES = ['p50', 'p90', 'p99', 'p995', 'max'] as const;

/** Gauges read at each export; one snapshot per collection serves all of them. */
function batch(meter: Meter, observables: Observable[], callback: BatchObservableCallback): () => void {
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}

/** Breaker state, rolling counts by outcome, error percentage and latency percentiles (Hystrix's tile). */
export function observeBreakers(meter: Meter, snapshots: () => readonly BreakerSnapshotLike[]): () => void {
  const state = meter.createObservableGauge('chaoscope.breaker.state', {
    description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 forced open, 4 forced closed.',
  });
  const calls = meter.createObservableGauge('chaoscope.breaker.rolling.calls', {
    unit: '{call}',
    description: 'Calls in the breaker rolling window (10 s), by outcome.',
  });
  const errors = meter.createObservableGauge('chaoscope.breaker.rolling.error_percentage', {
    unit: '%',
    description: 'Failed, timed-out and refused calls in the rolling window, in percent.',
  });
  const latency = meter.createObservableGauge('chaoscope.breaker.rolling.latency', {
    unit: 's',
    description: 'Call latency percentiles in the rolling window.',
  });
  return batch(meter, [state, calls, errors, latency], (result) => {
    for (const s of snapshots()) {
      const base: Attributes = { [ATTR_BREAKER_NAME]: s.name, [ATTR_PEER_SERVICE]: s.callee };
      result.observe(state, BREAKER_STATE_VALUES[s.state] ?? -1, base);
      for (const [outcome, count] of Object.entries(s.counts))
        result.observe(calls, count, { ...base, 'breaker.outcome': outcome });
      result.observe(errors, s.errorPercentage, base);
      for (const p of LATENCY_PERCENTILES) {
        const ms = s.latencyMs[p];
        if (ms !== undefined) result.observe(latency, ms / 1000, { ...base, 'breaker.percentile': p });
      }
    }
  });
}

/** Outbox backlog per destination, the age of its oldest pending event, deliveries and failures. */
export function observeOutbox(meter: Meter, stats: () => OutboxStatsLike): () => void {
  const pending = meter.createObservableGauge('chaoscope.outbox.pending', {
    unit: '{event}',
    description: 'Events written but not yet acknowledged, per destination.',
  });
  const lag = meter.createObservableGauge('chaoscope.outbox.lag', {
    unit: 's',
    description: 'Age of the oldest undelivered event.',
  });
  const parked = meter.createObservableGauge('chaoscope.outbox.parked', {
    unit: '{event}',
    description: 'Events a destination refused for good (kept a day with their reason).',
  });
  const delivered = meter.createObservableCounter('chaoscope.outbox.delivered', {
    unit: '{event}',
    description: 'Events delivered since the service started.',
  });
  const failed = meter.createObservableCounter('chaoscope.outbox.failed_attempts', {
    unit: '{attempt}',
    description: 'Delivery attempts that failed since the service started.',
  });
  return batch(meter, [pending, lag, parked, delivered, failed], (result) => {
    let s: OutboxStatsLike;
    try {
      s = stats();
    } catch {
      return; // the database is closing: skip this export rather than fail the whole collection
    }
    for (const [destination, d] of Object.entries(s.byDestination))
      result.observe(pending, d.pending, { 'outbox.destination': destination });
    result.observe(lag, s.oldestPendingAgeMs / 1000);
    result.observe(parked, s.parked);
    result.observe(delivered, s.delivered);
    result.observe(failed, s.failedAttempts);
  });
}

export function observeGauge(
  meter: Meter,
  name: string,
  options: { readonly description: string; readonly unit?: string },
  observe: () => Iterable<Observation>,
): () => void {
  const gauge = meter.createObservableGauge(name, options);
  return batch(meter, [gauge], (result) => {
    for (const [value, attributes] of observe()) result.observe(gauge, value, attributes);
  });
}

import type { LogRecord, MetricPoint, SpanRecord, TelemetrySink } from '../model/telemetry.ts';
import type { Signal } from '../collector/otlp-protobuf.ts';
import { forwardSettingsSchema, type ForwardSettingsInput } from './settings.ts';
import { TargetForwarder, type ForwardTargetStats } from './target.ts';

/** What close() waits for the queues to drain by default, before giving up on what is left. */
export const DEFAULT_CLOSE_DEADLINE_MS = 5_000;

export interface Forwarder {
  /** Queue records for every target that takes this signal. Never blocks, never throws. */
  forward(signal: Signal, records: readonly (SpanRecord | MetricPoint | LogRecord)[]): void;
  stats(): ForwardTargetStats[];
  /** Flush every target within the deadline, then stop; what is left counts as dropped. */
  close(deadlineMs?: number): Promise<ForwardTargetStats[]>;
}

/** Validates the settings (throws a ZodError listing every problem) and starts one queue per target. */
export function createForwarder(settings: ForwardSettingsInput): Forwarder {
  const { targets } = forwardSettingsSchema.parse(settings);
  const forwarders = targets.map((t) => new TargetForwarder(t));
  let closing: Promise<ForwardTargetStats[]> | undefined;
  return {
    forward(signal, records) {
      for (const f of forwarders) f.enqueue(signal, records);
    },
    stats: () => forwarders.map((f) => f.stats()),
    close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS) {
      closing ??= Promise.all(forwarders.map((f) => f.close(deadlineMs)));
      return closing;
    },
  };
}

/**
 * The sink decorator: everything the inner sink (the app's store) acknowledged is also queued for
 * forwarding. Only after the inner append resolved, so a target never sees what the app refused,
 * and the collector's answer never waits for a remote target. Back-pressure is the inner sink's
 * alone: a slow or dead target costs its own queue's oldest records, not the cluster's telemetry.
 */
export function withForwarding(inner: TelemetrySink, forwarder: Pick<Forwarder, 'forward'>): TelemetrySink {
  return {
    async appendSpans(spans) {
      await inner.appendSpans(spans);
      forwarder.forward('traces', spans);
    },
    async appendMetrics(points) {
      await inner.appendMetrics(points);
      forwarder.forward('metrics', points);
    },
    async appendLogs(records) {
      await inner.appendLogs(records);
      forwarder.forward('logs', records);
    },
    pressure: () => inner.pressure(),
  };
}

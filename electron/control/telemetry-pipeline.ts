/**
 * The telemetry half of the control plane: the store in `<home>/telemetry`, the collector on
 * 127.0.0.1:4318 (OTLP/HTTP) and :14268 (Jaeger Thrift) — the next free ports when those are busy,
 * said in a notice — and the queries, run one at a time on the store's reader connection.
 */
import { join } from 'node:path';
import { createCollector, type Collector, type CollectorStats } from '../../telemetry/collector/collector.ts';
import { TelemetryStore, type TelemetryReader } from '../../telemetry/store/index.ts';
import { preferredOrNextFreePort } from '../../sample-cluster/runtime/process/ports.ts';
import type { ChaosMarkerInfo } from '../api/chaos.ts';
import type { CollectorStatsView } from '../api/schemas.ts';

export interface TelemetryPipelineOptions {
  readonly dir: string;
  readonly otlpPort: number;
  readonly jaegerPort: number;
  readonly retention: { readonly maxAgeHours: number; readonly maxMegabytes: number };
}

export interface TelemetryPipeline {
  readonly collector: Collector;
  readonly store: TelemetryStore;
  /** Things worth telling the user (a port that was busy). */
  readonly notices: readonly string[];
  /** Run a query on the reader; queries are serialised (one DuckDB connection). */
  query<T>(run: (reader: TelemetryReader) => Promise<T>): Promise<T>;
  /** The collector's and the store's figures, with spans/s over the last few samples. */
  stats(): Promise<CollectorStatsView>;
  /** Keep a chaos marker with the telemetry, for charts over any past window. */
  recordMarker(marker: ChaosMarkerInfo): Promise<void>;
  close(): Promise<void>;
}

const ZERO = { received: 0, stored: 0, refused: 0, dropped: 0 };

export async function startTelemetryPipeline(options: TelemetryPipelineOptions): Promise<TelemetryPipeline> {
  const store = await TelemetryStore.open({
    path: join(options.dir, 'telemetry.duckdb'),
    retention: {
      maxAgeMs: options.retention.maxAgeHours * 3_600_000,
      maxBytes: options.retention.maxMegabytes * 1024 * 1024,
    },
    // The control plane shares the machine with the cluster it watches.
    duckdb: { memoryLimit: '512MB' },
  });
  const notices: string[] = [];
  let collector: Collector | null = null;
  try {
    // Between the probe and the listen another process may take the port: try a few times.
    for (let attempt = 0; !collector; attempt++) {
      const otlpPort = await preferredOrNextFreePort(options.otlpPort);
      const jaegerPort = await preferredOrNextFreePort(options.jaegerPort, { exclude: new Set([otlpPort]) });
      try {
        collector = await createCollector({ sink: store, otlpPort, jaegerPort });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw error;
        continue;
      }
      if (otlpPort !== options.otlpPort)
        notices.push(`port ${options.otlpPort} is busy; the collector takes OTLP/HTTP on ${otlpPort}`);
      if (jaegerPort !== options.jaegerPort)
        notices.push(
          `port ${options.jaegerPort} is busy; the collector takes Jaeger Thrift on ${jaegerPort}`,
        );
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  const started = collector;

  let chain: Promise<unknown> = Promise.resolve();
  const query = <T>(run: (reader: TelemetryReader) => Promise<T>): Promise<T> => {
    const next = chain.then(() => run(store.reader()));
    chain = next.catch(() => undefined);
    return next;
  };

  // Samples of (time, stored spans) for a rate over the last ~5 s.
  const samples: { at: number; stored: number }[] = [];
  const lastSeen = new Map<string, { at: number; received: number }>();

  return {
    collector: started,
    store,
    notices,
    query,
    recordMarker: (marker) => store.recordMarker(marker),
    async stats() {
      const raw: CollectorStats = started.stats();
      const now = Date.now();
      const totals = { spans: { ...ZERO }, dataPoints: { ...ZERO }, logRecords: { ...ZERO } };
      const services: CollectorStatsView['services'] = {};
      for (const [service, counts] of Object.entries(raw.services)) {
        for (const kind of ['spans', 'dataPoints', 'logRecords'] as const) {
          for (const field of ['received', 'stored', 'refused', 'dropped'] as const)
            totals[kind][field] += counts[kind][field];
        }
        const received = counts.spans.received + counts.dataPoints.received + counts.logRecords.received;
        const seen = lastSeen.get(service);
        if (!seen || seen.received !== received) lastSeen.set(service, { at: now, received });
        services[service] = { ...counts, lastSeen: lastSeen.get(service)?.at ?? null };
      }
      samples.push({ at: now, stored: totals.spans.stored });
      while (samples.length > 2 && now - samples[0]!.at > 5_000) samples.shift();
      const first = samples[0]!;
      const seconds = (now - first.at) / 1000;
      const storeStats = await query(() => store.stats());
      const evicted = (c: { spans: number; metricPoints?: number; logRecords?: number }) =>
        Object.values(c).reduce((n, v) => n + Number(v), 0);
      return {
        otlpUrl: started.otlpUrl,
        jaegerUrl: started.jaegerUrl,
        spansPerSecond: seconds > 0 ? (totals.spans.stored - first.stored) / seconds : 0,
        totals,
        services,
        throttledRequests: raw.throttledRequests,
        inFlightRequests: raw.inFlightRequests,
        store: {
          path: storeStats.path,
          rows: {
            spans: storeStats.rows.spans,
            metricPoints: storeStats.rows.metricPoints,
            logRecords: storeStats.rows.logRecords,
          },
          bytesUsed: storeStats.bytes.used,
          evicted: evicted(storeStats.evictions.byAge) + evicted(storeStats.evictions.bySize),
          pendingRows: storeStats.pending.rows,
        },
      };
    },
    async close() {
      await started.close();
      await chain.catch(() => undefined);
      await store.close();
    },
  };
}

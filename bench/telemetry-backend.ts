/**
 * The app's telemetry back end for the cluster benchmark, in its own process as the app would run
 * it: the collector on free ports writing into a DuckDB store in `argv[2]`. Prints one JSON line
 * with the OTLP URL once listening; on SIGTERM prints the collector's and store's counts and exits.
 *
 * Run by bench/run.ts; alone: node bench/telemetry-backend.ts <dir>
 */
import { join } from 'node:path';
import { createCollector } from '../telemetry/collector/collector.ts';
import { TelemetryStore } from '../telemetry/store/index.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: telemetry-backend.ts <dir>');
const store = await TelemetryStore.open({ path: join(dir, 'telemetry.duckdb') });
const collector = await createCollector({ sink: store, otlpPort: 0, jaegerPort: 0 });
process.stdout.write(`${JSON.stringify({ otlpUrl: collector.otlpUrl, jaegerUrl: collector.jaegerUrl })}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await collector.close();
    await store.flush();
    const stats = await store.stats();
    const c = collector.stats();
    await store.close();
    process.stdout.write(`${JSON.stringify({ rows: stats.rows, collector: c })}\n`);
    process.exit(0);
  })();
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { span, spanId, traceId } from './fixtures/spans.ts';
import { SchemaTooNewError, TelemetryStore } from './index.ts';
import { migrate, schemaVersion } from './migrate.ts';
import { listMarkers } from '../query/markers.ts';
import { searchTraces } from '../query/search.ts';
import { migrations, type Migration } from './schema.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chaoscope-migrate-'));
  dirs.push(dir);
  return join(dir, 'telemetry.duckdb');
}

async function withRawDatabase<T>(
  path: string,
  fn: (c: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>,
) {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('schema migrations', () => {
  it('refuses a file written by a newer schema, and leaves it untouched', async () => {
    const path = tempPath();
    const store = await TelemetryStore.open({ path });
    await store.appendSpans([span({ traceId: traceId(1), spanId: spanId(1), startMs: 0, durationMs: 1 })]);
    await store.close();
    await withRawDatabase(path, (c) =>
      c.run("INSERT INTO schema_migrations VALUES (99, 'from the future', now())"),
    );

    const refused = TelemetryStore.open({ path });
    await expect(refused).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(refused).rejects.toThrow(/schema is at version 99 but this code knows versions up to 4/);
    // The refusal released the file: it can be opened again, with its data.
    const rows = await withRawDatabase(path, async (c) =>
      (await c.runAndReadAll('SELECT count(*) FROM spans')).getRowsJS(),
    );
    expect(rows).toEqual([[1n]]);
  });

  it('reopens an up-to-date file without re-running migrations', async () => {
    const path = tempPath();
    await (await TelemetryStore.open({ path })).close();
    const store = await TelemetryStore.open({ path });
    const applied = await store.reader().rows('SELECT version, name FROM schema_migrations');
    expect(applied).toEqual([
      { version: 1, name: 'spans, metric points and log records' },
      { version: 2, name: 'markers (chaos faults applied and rolled back)' },
      {
        version: 3,
        name: 'trace summaries in trace_index (span ids, error span ids, services, root candidate)',
      },
      { version: 4, name: 'trace_index: span and error counts, service names as scalars' },
    ]);
    await store.close();
  });

  it('brings a version-1 file (no markers table) up to date and keeps its data', async () => {
    const path = tempPath();
    await withRawDatabase(path, async (c) => void (await migrate(c, migrations.slice(0, 1))));
    const store = await TelemetryStore.open({ path });
    expect((await store.stats()).schemaVersion).toBe(4);
    await store.recordMarker({
      at: new Date(1_000).toISOString(),
      phase: 'applied',
      faultId: 'f1',
      description: 'latency 200±0 ms in timeline',
      services: ['timeline'],
    });
    const found = await listMarkers(store.reader(), { from: 0, to: 2_000 });
    expect(found.map((m) => m.faultId)).toEqual(['f1']);
    await store.close();
  });

  it('rebuilds trace_index with summaries from the spans of a version-2 file', async () => {
    const path = tempPath();
    const trace = traceId(7);
    await withRawDatabase(path, async (c) => {
      await migrate(c, migrations.slice(0, 2));
      // Version 2 kept only time ranges in trace_index; spans as the store wrote them.
      await c.run(`INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns,
          duration_ns, status, attributes, resource) VALUES
        (7, 1, NULL, 'gateway', 'GET /', 'server', 1000000, 9000000, 'error', '{}', '{}'),
        (7, 2, 1, 'users', 'GET /users', 'server', 500000, 1000000, 'unset', '{}', '{}'),
        (7, 2, 1, 'users', 'GET /users', 'server', 500000, 1000000, 'unset', '{}', '{}')`);
      await c.run('INSERT INTO trace_index VALUES (7, 500000, 10000000)');
    });
    const store = await TelemetryStore.open({ path, retention: { checkIntervalMs: 0 } });
    expect(await searchTraces(store.reader(), { service: 'users' })).toEqual([
      {
        traceId: trace,
        rootService: 'gateway',
        rootName: 'GET /',
        startUnixNano: 500_000n,
        durationNs: 9_500_000n,
        durationMs: 9.5,
        spanCount: 2,
        errorCount: 1,
        services: ['gateway', 'users'],
      },
    ]);
    await store.close();
  });

  it('applies only the new migrations, each in its own transaction', async () => {
    const path = tempPath();
    const v1: Migration = {
      version: 1,
      name: 'one',
      up: async (c) => void (await c.run('CREATE TABLE a (x INTEGER)')),
    };
    const v2: Migration = {
      version: 2,
      name: 'two',
      up: async (c) => void (await c.run('CREATE TABLE b (x INTEGER)')),
    };
    const broken: Migration = {
      version: 3,
      name: 'broken',
      up: async (c) => {
        await c.run('CREATE TABLE c (x INTEGER)');
        await c.run('SELECT * FROM no_such_table');
      },
    };
    await withRawDatabase(path, async (c) => {
      expect(await migrate(c, [v1])).toBe(1);
      expect(await migrate(c, [v1, v2])).toBe(2);
      await expect(migrate(c, [v1, v2, broken])).rejects.toThrow(/no_such_table/);
      expect(await schemaVersion(c)).toBe(2);
      const tables = (
        await c.runAndReadAll('SELECT table_name FROM information_schema.tables ORDER BY 1')
      ).getRowsJS();
      expect(tables.flat()).toEqual(['a', 'b', 'schema_migrations']);
      await expect(migrate(c, [v2])).rejects.toThrow(/expected 1/);
    });
  });
});

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  DuckDBInstance,
  LIST,
  listValue,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
} from '@duckdb/node-api';
import { z } from 'zod';
import type { LogRecord, MetricPoint, SpanRecord, TelemetrySink } from '../model/telemetry.ts';
import { migrate, schemaVersion } from './migrate.ts';
import { TelemetryReader } from './reader.ts';
import { evictByAge, evictBySize, fileBytes, usedBytes, zeroCounts, type TableCounts } from './retention.ts';
import {
  appendLogRow,
  appendMetricRow,
  appendSpanRow,
  appendTraceIndexRow,
  toLogRow,
  toMetricRow,
  toSpanRow,
  toTraceIndexRows,
  type LogRow,
  type MetricRow,
  type SpanRow,
  type TraceIndexRow,
} from './rows.ts';
import { migrations, TIMED_TABLES, type TableKey, type TableName } from './schema.ts';
import { QueueClosedError, WriteQueue, type QueuedBatch } from './write-queue.ts';

// StoreBusyError: the write queue is full (answer 429/503 with Retry-After); StoreClosedError: after close().
export { QueueFullError as StoreBusyError, QueueClosedError as StoreClosedError } from './write-queue.ts';
export { SchemaTooNewError } from './migrate.ts';

const optionsSchema = z.object({
  path: z.string().min(1),
  retention: z
    .object({
      /** Telemetry older than this (by its own timestamp) is evicted. */
      maxAgeMs: z.number().positive().optional(),
      /** Cap on the bytes the data occupies (blocks in use + write-ahead log). */
      maxBytes: z.number().int().positive().optional(),
      /** How often retention runs on its own; 0 leaves it to explicit `enforceRetention()` calls. */
      checkIntervalMs: z.number().int().nonnegative().default(5_000),
    })
    .default({ checkIntervalMs: 5_000 }),
  flush: z
    .object({
      /** A commit starts once this many rows wait, and takes at most this many (whole batches). */
      maxRows: z.number().int().positive().default(8_192),
      /** …or once the oldest waiting batch is this old. Keeps data queryable well under a second. */
      maxDelayMs: z.number().nonnegative().default(10),
    })
    .default({ maxRows: 8_192, maxDelayMs: 10 }),
  /**
   * Back-pressure bound: past this many rows waiting, `pressure()` says stop. About a second of
   * ingest at full speed, tens of megabytes: far from running the process out of memory. Twice
   * this, appends are refused outright.
   */
  maxPendingRows: z.number().int().positive().default(50_000),
  duckdb: z
    .object({
      memoryLimit: z.string().default('1GB'),
      threads: z.number().int().positive().optional(),
      /** WAL size that triggers a checkpoint; larger means fewer, longer pauses in the write lane. */
      walAutocheckpoint: z.string().default('64MB'),
    })
    .default({ memoryLimit: '1GB', walAutocheckpoint: '64MB' }),
});

/** A marker as the store keeps it; `kind` says what made it (chaos faults for now). */
const markerRowSchema = z.object({
  at: z.iso.datetime({ offset: true }),
  kind: z.enum(['chaos']).default('chaos'),
  phase: z.enum(['applied', 'rolled-back', 'failed']),
  faultId: z.string().min(1).max(200),
  description: z.string().max(1_000),
  services: z.array(z.string().min(1).max(100)).max(50),
  reason: z.string().max(2_000).optional(),
});
export type MarkerInput = z.input<typeof markerRowSchema>;

export type StoreOptions = z.input<typeof optionsSchema>;
type ResolvedOptions = z.output<typeof optionsSchema>;

export interface RetentionResult {
  readonly byAge: TableCounts;
  readonly bySize: TableCounts;
}

export interface StoreStats {
  readonly path: string;
  readonly schemaVersion: number;
  readonly rows: TableCounts;
  readonly bytes: {
    /** Size of the database file plus its write-ahead log, as the file system reports them. */
    readonly onDisk: number;
    readonly wal: number;
    /** What retention caps: blocks in use plus the write-ahead log. */
    readonly used: number;
  };
  /** Rows evicted since the store was opened. */
  readonly evictions: RetentionResult;
  readonly pending: { readonly rows: number; readonly batches: number };
  /** Rows committed since the store was opened, per service. */
  readonly appendedByService: Record<string, TableCounts>;
  readonly commits: number;
  readonly committedRows: number;
  readonly lastCommitMs: number;
  /** Why the last scheduled retention run failed, if it did. */
  readonly retentionError: string | null;
}

type Batch =
  | { readonly table: 'spans'; readonly rows: readonly SpanRow[]; readonly index: readonly TraceIndexRow[] }
  | { readonly table: 'metric_points'; readonly rows: readonly MetricRow[] }
  | { readonly table: 'log_records'; readonly rows: readonly LogRow[] };

/**
 * The telemetry store: spans, metric points and log records in one DuckDB file.
 *
 * Durability: an append's promise resolves only after the transaction holding its rows has
 * committed, and DuckDB writes and syncs its write-ahead log on commit, so an acknowledged span
 * survives `kill -9` (store.crash.spec.ts proves it with a real child process). Appends go through
 * DuckDB's Appender inside an explicit transaction on the one writer connection: the appender
 * shares the connection's transaction, so one COMMIT covers a whole group of callers.
 */
export class TelemetryStore implements TelemetrySink {
  readonly path: string;
  private readonly options: ResolvedOptions;
  private readonly instance: DuckDBInstance;
  private readonly writer: DuckDBConnection;
  private readonly defaultReader: TelemetryReader;
  private readonly readers = new Set<TelemetryReader>();
  private appenders: Appenders;
  private readonly queue: WriteQueue<Batch>;
  private readonly evicted: { byAge: TableCounts; bySize: TableCounts } = {
    byAge: zeroCounts(),
    bySize: zeroCounts(),
  };
  private readonly perService = new Map<string, TableCounts>();
  private retentionTimer: NodeJS.Timeout | null = null;
  private lastError: { message: string; at: number } | null = null;
  private lastRetentionError: string | null = null;
  private closed = false;

  private constructor(
    options: ResolvedOptions,
    instance: DuckDBInstance,
    writer: DuckDBConnection,
    reader: DuckDBConnection,
    appenders: Appenders,
  ) {
    this.options = options;
    this.path = options.path;
    this.instance = instance;
    this.writer = writer;
    this.defaultReader = new TelemetryReader(reader);
    this.appenders = appenders;
    this.queue = new WriteQueue<Batch>({
      maxRows: options.flush.maxRows,
      maxDelayMs: options.flush.maxDelayMs,
      hardLimitRows: options.maxPendingRows * 2,
      commit: (batches) => this.commit(batches),
    });
  }

  static async open(input: StoreOptions): Promise<TelemetryStore> {
    const options = optionsSchema.parse(input);
    const path = resolve(options.path);
    // DuckDB's file lock keeps other processes out, but not a second open in this one.
    if (openPaths.has(path))
      throw new Error(`the telemetry store at ${path} is already open in this process`);
    openPaths.add(path);
    const config: Record<string, string> = {
      memory_limit: options.duckdb.memoryLimit,
      wal_autocheckpoint: options.duckdb.walAutocheckpoint,
    };
    if (options.duckdb.threads) config.threads = String(options.duckdb.threads);
    let instance: DuckDBInstance | null = null;
    let writer: DuckDBConnection | null = null;
    try {
      mkdirSync(dirname(path), { recursive: true });
      instance = await DuckDBInstance.create(path, config);
      writer = await instance.connect();
      await migrate(writer, migrations);
      const appenders = await createAppenders(writer);
      const reader = await instance.connect();
      const store = new TelemetryStore({ ...options, path }, instance, writer, reader, appenders);
      store.startRetentionTimer();
      return store;
    } catch (error) {
      writer?.closeSync();
      instance?.closeSync();
      openPaths.delete(path);
      throw error;
    }
  }

  appendSpans(spans: readonly SpanRecord[]): Promise<void> {
    return this.enqueue('spans', spans, toSpanRow);
  }

  appendMetrics(points: readonly MetricPoint[]): Promise<void> {
    return this.enqueue('metric_points', points, toMetricRow);
  }

  appendLogs(records: readonly LogRecord[]): Promise<void> {
    return this.enqueue('log_records', records, toLogRow);
  }

  pressure(): { readonly accepting: boolean; readonly retryAfterSeconds: number; readonly reason?: string } {
    if (this.closed)
      return { accepting: false, retryAfterSeconds: 5, reason: 'the telemetry store is closed' };
    const pending = this.queue.pendingRows;
    if (pending >= this.options.maxPendingRows) {
      const drain = this.queue.rowsPerSecond;
      const seconds = drain > 0 ? Math.ceil(pending / drain) : 1;
      return {
        accepting: false,
        retryAfterSeconds: Math.min(30, Math.max(1, seconds)),
        reason: `telemetry store write queue is full (${pending} rows waiting, bound ${this.options.maxPendingRows})`,
      };
    }
    // A failing disk (full, read-only) would fail every commit: say so instead of queueing more.
    if (this.lastError && performance.now() - this.lastError.at < 5_000) {
      return {
        accepting: false,
        retryAfterSeconds: 5,
        reason: `telemetry store failing: ${this.lastError.message}`,
      };
    }
    return { accepting: true, retryAfterSeconds: 0 };
  }

  /** Commit whatever is queued now instead of waiting for the flush delay. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /** A handle for the query functions (telemetry/query); shared, closed with the store. */
  reader(): TelemetryReader {
    return this.defaultReader;
  }

  /** A reader on its own connection, for queries that should not wait behind others. */
  async openReader(): Promise<TelemetryReader> {
    const reader = new TelemetryReader(await this.instance.connect());
    this.readers.add(reader);
    return reader;
  }

  /**
   * Keep one marker (a fault applied or rolled back) with the telemetry. Runs between commits on
   * the writer, like retention; resolves once the row is committed.
   */
  recordMarker(marker: MarkerInput): Promise<void> {
    const row = markerRowSchema.parse(marker);
    const at = Date.parse(row.at);
    return this.queue.exclusive(async () => {
      await this.writer.run(
        `INSERT INTO markers VALUES ($time_ns, $kind, $phase, $ref_id, $description, $services, $reason)`,
        {
          time_ns: BigInt(Math.round(at * 1000)) * 1000n,
          kind: row.kind,
          phase: row.phase,
          ref_id: row.faultId,
          description: row.description,
          services: listValue(row.services),
          reason: row.reason ?? null,
        },
        { services: LIST(VARCHAR) },
      );
    });
  }

  /** Apply the age and size caps now (also runs every `retention.checkIntervalMs`). */
  enforceRetention(nowMs: number = Date.now()): Promise<RetentionResult> {
    return this.queue.exclusive(async () => {
      const { maxAgeMs, maxBytes } = this.options.retention;
      const byAge =
        maxAgeMs === undefined
          ? zeroCounts()
          : await evictByAge(this.writer, BigInt(Math.floor(nowMs - maxAgeMs)) * 1_000_000n);
      const bySize =
        maxBytes === undefined ? zeroCounts() : await evictBySize(this.writer, this.path, maxBytes);
      // Markers are tiny: they follow the age cap only, so a chart keeps its markers while it has data.
      if (maxAgeMs !== undefined)
        await this.writer.run(
          `DELETE FROM markers WHERE time_ns < ${BigInt(Math.floor(nowMs - maxAgeMs)) * 1_000_000n}`,
        );
      for (const { key } of TIMED_TABLES) {
        this.evicted.byAge[key] += byAge[key];
        this.evicted.bySize[key] += bySize[key];
      }
      return { byAge, bySize };
    });
  }

  async stats(): Promise<StoreStats> {
    const reader = this.defaultReader;
    const counts = await reader.rows(
      TIMED_TABLES.map(({ table, key }) => `SELECT '${key}' AS t, count(*) AS n FROM ${table}`).join(
        ' UNION ALL ',
      ),
    );
    const rows = zeroCounts();
    for (const r of counts) rows[r.t as TableKey] = Number(r.n);
    const wal = fileBytes(`${this.path}.wal`);
    return {
      path: this.path,
      schemaVersion: await schemaVersion(reader.connection),
      rows,
      bytes: { onDisk: fileBytes(this.path) + wal, wal, used: await usedBytes(reader.connection, this.path) },
      evictions: { byAge: { ...this.evicted.byAge }, bySize: { ...this.evicted.bySize } },
      pending: { rows: this.queue.pendingRows, batches: this.queue.pendingBatches },
      appendedByService: Object.fromEntries([...this.perService].map(([service, c]) => [service, { ...c }])),
      commits: this.queue.commits,
      committedRows: this.queue.committedRows,
      lastCommitMs: this.queue.lastCommitMs,
      retentionError: this.lastRetentionError,
    };
  }

  /** Commit what is queued, then close everything; appends after this reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.queue.close();
    for (const appender of Object.values(this.appenders)) closeAppender(appender);
    // A checkpoint now leaves no write-ahead log to replay on the next open.
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    for (const reader of this.readers) reader.close();
    this.defaultReader.close();
    this.writer.closeSync();
    this.instance.closeSync();
    openPaths.delete(this.path);
  }

  private enqueue<R, W>(
    table: Batch['table'],
    records: readonly R[],
    toRow: (record: R) => W,
  ): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError('the telemetry store is closed'));
    if (records.length === 0) return Promise.resolve();
    let batch: Batch;
    try {
      const rows = records.map(toRow);
      batch = (
        table === 'spans' ? { table, rows, index: toTraceIndexRows(rows as SpanRow[]) } : { table, rows }
      ) as Batch;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.queue.push(batch, records.length);
  }

  private async commit(batches: readonly QueuedBatch<Batch>[]): Promise<void> {
    const used = new Set<keyof Appenders>();
    await this.writer.run('BEGIN TRANSACTION');
    try {
      let sliceStart = performance.now();
      for (const { item } of batches) {
        const appender = this.appenders[item.table];
        used.add(item.table);
        if (item.table === 'spans') {
          for (const r of item.rows) appendSpanRow(appender, r);
          for (const r of item.index) appendTraceIndexRow(this.appenders.trace_index, r);
          used.add('trace_index');
        } else if (item.table === 'metric_points') for (const r of item.rows) appendMetricRow(appender, r);
        else for (const r of item.rows) appendLogRow(appender, r);
        // Appending is synchronous: hand the event loop back now and then during a big group.
        if (performance.now() - sliceStart > 8) {
          await new Promise((r) => setImmediate(r));
          sliceStart = performance.now();
        }
      }
      for (const table of used) this.appenders[table].flushSync();
      await this.writer.run('COMMIT');
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      // An appender that failed mid-row is unusable; start the next transaction with fresh ones.
      for (const appender of Object.values(this.appenders)) {
        try {
          appender.clear();
        } catch {
          // already broken: replaced below
        }
        closeAppender(appender);
      }
      this.appenders = await createAppenders(this.writer);
      this.lastError = {
        message: error instanceof Error ? error.message : String(error),
        at: performance.now(),
      };
      throw error;
    }
    this.lastError = null;
    for (const { item } of batches) {
      for (const row of item.rows) {
        let counts = this.perService.get(row.service);
        if (!counts) this.perService.set(row.service, (counts = zeroCounts()));
        counts[KEY_OF[item.table]]++;
      }
    }
  }

  private startRetentionTimer(): void {
    const { maxAgeMs, maxBytes, checkIntervalMs } = this.options.retention;
    if (checkIntervalMs === 0 || (maxAgeMs === undefined && maxBytes === undefined)) return;
    this.retentionTimer = setInterval(() => {
      this.enforceRetention().then(
        () => (this.lastRetentionError = null),
        (error: unknown) =>
          (this.lastRetentionError = error instanceof Error ? error.message : String(error)),
      );
    }, checkIntervalMs);
    this.retentionTimer.unref();
  }
}

const openPaths = new Set<string>();

const KEY_OF = Object.fromEntries(TIMED_TABLES.map(({ table, key }) => [table, key])) as Record<
  TableName,
  TableKey
>;

type Appenders = Record<TableName | 'trace_index', DuckDBAppender>;

async function createAppenders(writer: DuckDBConnection): Promise<Appenders> {
  return {
    spans: await writer.createAppender('spans'),
    trace_index: await writer.createAppender('trace_index'),
    metric_points: await writer.createAppender('metric_points'),
    log_records: await writer.createAppender('log_records'),
  };
}

function closeAppender(appender: DuckDBAppender): void {
  try {
    appender.closeSync();
  } catch {
    // closing flushes; after a failure there is nothing worth flushing
  }
}

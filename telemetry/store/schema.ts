import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * The store's schema, one migration per published change. Choices made for query speed:
 * - what searches filter and sort on (service, name, kind, status, start, duration, route, peer)
 *   are plain columns, so DuckDB's zone maps and dictionary compression work on them;
 * - ids are UHUGEINT / UBIGINT (see ids.ts);
 * - whole-trace lookups go through `trace_index`: one row per trace per appended batch with the
 *   time range its spans cover. Scanning that small table gives the range, and the range lets
 *   DuckDB's zone maps skip nearly every row group of `spans`. An ART index on spans.trace_id
 *   would make the lookup a point query, but measured on DuckDB 1.5 it makes deleting rows
 *   (retention) 50-200 times slower (4-9 µs per row, and pathological for low-entropy ids),
 *   which a store that evicts as fast as it ingests cannot afford;
 * - attributes, resource, events and links are JSON text: appending text is about twice as fast
 *   as building LIST(STRUCT) values through the appender, and the queries that read inside them
 *   (attribute search, breaker events) first narrow rows with a plain substring test.
 * Times are Unix nanoseconds in BIGINT (good until 2262).
 */
export interface Migration {
  /** Strictly increasing from 1; never reuse or reorder a published version. */
  readonly version: number;
  readonly name: string;
  readonly up: (connection: DuckDBConnection) => Promise<void>;
}

const sql =
  (...statements: string[]) =>
  async (connection: DuckDBConnection): Promise<void> => {
    for (const statement of statements) await connection.run(statement);
  };

/** Column order is the appender's order (rows.ts writes them in exactly this sequence). */
export const SPAN_COLUMNS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'service',
  'instance',
  'name',
  'kind',
  'start_ns',
  'duration_ns',
  'status',
  'status_message',
  'http_route',
  'peer_service',
  'attributes',
  'resource',
  'scope_name',
  'scope_version',
  'events',
  'links',
] as const;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'spans, metric points and log records',
    up: sql(
      `CREATE TABLE spans (
        trace_id UHUGEINT NOT NULL,
        span_id UBIGINT NOT NULL,
        parent_span_id UBIGINT,
        service VARCHAR NOT NULL,
        instance VARCHAR,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        start_ns BIGINT NOT NULL,
        duration_ns BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        status_message VARCHAR,
        http_route VARCHAR,
        peer_service VARCHAR,
        attributes VARCHAR NOT NULL,
        resource VARCHAR NOT NULL,
        scope_name VARCHAR,
        scope_version VARCHAR,
        events VARCHAR,
        links VARCHAR
      )`,
      `CREATE TABLE trace_index (
        trace_id UHUGEINT NOT NULL,
        start_ns BIGINT NOT NULL,
        end_ns BIGINT NOT NULL
      )`,
      `CREATE TABLE metric_points (
        service VARCHAR NOT NULL,
        instance VARCHAR,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        unit VARCHAR,
        time_ns BIGINT NOT NULL,
        value DOUBLE,
        hist_count DOUBLE,
        hist_sum DOUBLE,
        hist_bounds DOUBLE[],
        hist_counts DOUBLE[],
        attributes VARCHAR NOT NULL
      )`,
      `CREATE TABLE log_records (
        service VARCHAR NOT NULL,
        instance VARCHAR,
        time_ns BIGINT NOT NULL,
        severity_number INTEGER NOT NULL,
        severity_text VARCHAR,
        body VARCHAR NOT NULL,
        trace_id UHUGEINT,
        span_id UBIGINT,
        event_name VARCHAR,
        attributes VARCHAR NOT NULL
      )`,
    ),
  },
  {
    version: 2,
    name: 'markers (chaos faults applied and rolled back)',
    // Few rows (one per fault start or end), read by time window: a plain table, no index.
    up: sql(
      `CREATE TABLE markers (
        time_ns BIGINT NOT NULL,
        kind VARCHAR NOT NULL,
        phase VARCHAR NOT NULL,
        ref_id VARCHAR NOT NULL,
        description VARCHAR NOT NULL,
        services VARCHAR[] NOT NULL,
        reason VARCHAR
      )`,
    ),
  },
];

/**
 * The tables retention walks, with the column that orders their rows in time. trace_index is
 * evicted with spans (rows whose whole range is older than the cutoff) but not counted: it is
 * bookkeeping, not telemetry.
 */
export const TIMED_TABLES = [
  { table: 'spans', key: 'spans', time: 'start_ns' },
  { table: 'metric_points', key: 'metricPoints', time: 'time_ns' },
  { table: 'log_records', key: 'logRecords', time: 'time_ns' },
] as const;

export type TableName = (typeof TIMED_TABLES)[number]['table'];
/** How the tables are named in the store's API (stats, eviction counts). */
export type TableKey = (typeof TIMED_TABLES)[number]['key'];

import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * The store's schema, one migration per published change. Choices made for query speed:
 * - what searches filter and sort on (service, name, kind, status, start, duration, route, peer)
 *   are plain columns, so DuckDB's zone maps and dictionary compression work on them;
 * - ids are UHUGEINT / UBIGINT (see ids.ts);
 * - whole-trace lookups go through `trace_index`: one row per trace per appended batch with the
 *   time range its spans cover and, since migration 3, a summary of them (span and error span ids,
 *   services, the batch's best root candidate), so a search summarises the traces it found from
 *   this small table instead of reading their spans. The range lets DuckDB's zone maps skip nearly
 *   every row group of `spans` when reading a trace. trace_index has an ART index on trace_id
 *   (migration 3), so finding a trace's rows is a point query (2-10 ms for 20 traces at 10 M spans,
 *   against 30-150 ms scanning, which decodes the list columns of every row group touched); it
 *   costs retention about 9 µs per index row deleted. spans have no such index: there are 8-30
 *   times as many of them, and measured on DuckDB 1.5 it makes deleting them 50-200 times slower
 *   (pathological for low-entropy ids), which a store that evicts as fast as it ingests cannot
 *   afford;
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

/**
 * trace_index, in the appender's order (rows.ts appendTraceIndexRow). Per trace per appended
 * batch: the time range (start_ns..end_ns, end never before start: what bounds a spans scan),
 * the latest span end as stored (start + duration, for the trace's duration), the distinct span
 * ids and those of error spans (a span re-sent in another batch is then counted once), the
 * distinct services, and the batch's best root candidate: the first by (has a parent, start,
 * span id), which over all of a trace's rows gives the same root as over all its spans.
 */
const TRACE_INDEX_COLUMNS = `
  trace_id UHUGEINT NOT NULL,
  start_ns BIGINT NOT NULL,
  end_ns BIGINT NOT NULL,
  last_end_ns BIGINT NOT NULL,
  span_ids UBIGINT[] NOT NULL,
  error_span_ids UBIGINT[] NOT NULL,
  services VARCHAR[] NOT NULL,
  root_child BOOLEAN NOT NULL,
  root_start_ns BIGINT NOT NULL,
  root_span_id UBIGINT NOT NULL,
  root_service VARCHAR NOT NULL,
  root_name VARCHAR NOT NULL`;

/**
 * Fills the scalar columns of migration 4 from the lists of migration 3: the row's span and error
 * span counts, its service names sorted and joined by U+001F (see SERVICE_NAMES_SEPARATOR).
 */
export const FILL_TRACE_INDEX_SCALARS = `UPDATE trace_index SET
  span_count = length(span_ids),
  error_count = length(error_span_ids),
  service_names = array_to_string(list_sort(services), chr(31))
  WHERE span_count IS NULL`;

export const SERVICE_NAMES_SEPARATOR = '\u001f';

/** The columns traceSummariesOfSpans gives, by name. */
export const SUMMARY_COLUMNS =
  'trace_id, start_ns, end_ns, last_end_ns, span_ids, error_span_ids, services, root_child, root_start_ns, root_span_id, root_service, root_name';

/**
 * trace_index rows (one per trace) for the spans matching `where`, in the columns of migration 3
 * (FILL_TRACE_INDEX_SCALARS adds the rest); the migrations and the bench use it.
 */
export function traceSummariesOfSpans(where: string): string {
  return `SELECT trace_id, s, e, le, ids, errs, services, r.child, r.start, r.id, r.service, r.name
    FROM (
      SELECT trace_id,
        min(start_ns) AS s,
        max(greatest(start_ns + duration_ns, start_ns)) AS e,
        max(start_ns + duration_ns) AS le,
        list(DISTINCT span_id) AS ids,
        coalesce(list(DISTINCT span_id) FILTER (WHERE status = 'error'), []) AS errs,
        list(DISTINCT service) AS services,
        arg_min({'child': parent_span_id IS NOT NULL, 'start': start_ns, 'id': span_id, 'service': service, 'name': name},
          {'child': parent_span_id IS NOT NULL, 'start': start_ns, 'id': span_id}) AS r
      FROM spans WHERE ${where}
      GROUP BY trace_id
    )`;
}

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
  {
    version: 3,
    name: 'trace summaries in trace_index (span ids, error span ids, services, root candidate)',
    // Rebuilt from the spans (the old rows held only time ranges), in slabs of time holding about a
    // million spans each: grouping ten million at once runs past a 1 GB memory limit. A trace cut
    // by a slab boundary gets one row per slab, as if its spans had come in two batches.
    up: async (connection) => {
      await connection.run('DROP TABLE trace_index');
      await connection.run(`CREATE TABLE trace_index (${TRACE_INDEX_COLUMNS})`);
      const [row] = (
        await connection.runAndReadAll('SELECT count(*), min(start_ns), max(start_ns) FROM spans')
      ).getRows();
      const [count, lo, hi] = row ?? [];
      if (typeof count !== 'bigint' || typeof lo !== 'bigint' || typeof hi !== 'bigint') return;
      const slabs = count / 1_000_000n + 1n;
      const width = (hi - lo) / slabs + 1n;
      for (let from = lo; from <= hi; from += width) {
        await connection.run(
          `INSERT INTO trace_index ${traceSummariesOfSpans(`start_ns >= ${from} AND start_ns < ${from + width}`)}`,
        );
      }
      await connection.run('CREATE INDEX trace_index_trace_id ON trace_index (trace_id)');
    },
  },
  {
    version: 4,
    name: 'trace_index: span and error counts, service names as scalars',
    // Reading a list column for a few rows decodes much more than those rows (5-40 ms for 20
    // traces): a trace whose spans came in one batch is summarised from these scalars alone.
    up: sql(
      'ALTER TABLE trace_index ADD COLUMN span_count INTEGER',
      'ALTER TABLE trace_index ADD COLUMN error_count INTEGER',
      'ALTER TABLE trace_index ADD COLUMN service_names VARCHAR',
      FILL_TRACE_INDEX_SCALARS,
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

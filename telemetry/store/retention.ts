import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { TIMED_TABLES, type TableKey } from './schema.ts';

export type TableCounts = Record<TableKey, number>;

export const zeroCounts = (): TableCounts => ({ spans: 0, metricPoints: 0, logRecords: 0 });

/** Once over the size cap, evict down to this share of it, so eviction is not run on every tick. */
export const SIZE_LOW_WATERMARK = 0.8;

export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The bytes retention caps: blocks in use plus the write-ahead log. The file itself never shrinks
 * (DuckDB reuses freed blocks instead of truncating), so its size stays near its peak; what is
 * bounded is what the data occupies.
 */
export async function usedBytes(connection: DuckDBConnection, path: string): Promise<number> {
  const reader = await connection.runAndReadAll(
    'SELECT used_blocks * block_size AS used FROM pragma_database_size() WHERE database_name = current_database()',
  );
  return Number(reader.getRowsJS()[0]?.[0] ?? 0) + fileBytes(`${path}.wal`);
}

async function deleteWhere(
  connection: DuckDBConnection,
  predicate: (time: string) => string,
): Promise<TableCounts> {
  const counts = zeroCounts();
  for (const { table, key, time } of TIMED_TABLES) {
    const result = await connection.run(`DELETE FROM ${table} WHERE ${predicate(time)}`);
    counts[key] = result.rowsChanged;
  }
  // An index row goes once every span it covers has: its whole range is past the cutoff.
  await connection.run(`DELETE FROM trace_index WHERE ${predicate('end_ns')}`);
  return counts;
}

/** Checkpointing is what returns deleted row groups' blocks to the free list. */
async function checkpoint(connection: DuckDBConnection): Promise<void> {
  try {
    await connection.run('CHECKPOINT');
  } catch {
    // Another transaction is open: DuckDB's own automatic checkpoint will reclaim the space later.
  }
}

export async function evictByAge(connection: DuckDBConnection, cutoffNs: bigint): Promise<TableCounts> {
  const counts = await deleteWhere(connection, (time) => `${time} < ${cutoffNs}`);
  if (counts.spans + counts.metricPoints + counts.logRecords > 0) await checkpoint(connection);
  return counts;
}

/**
 * Evict the oldest telemetry, across all tables by one time cutoff, once the used bytes pass the
 * cap: enough rows, at the current bytes per row, to come down to the low watermark.
 *
 * DuckDB frees space a whole row group (122,880 rows) at a time, at the checkpoint after the
 * delete, so the used bytes fall in steps; a cap far below one row group of data cannot be met
 * without emptying the table. One pass per call: if a step has not been reached yet, the next
 * run (bytes per live row having risen) deletes further, rather than this one guessing ahead.
 */
export async function evictBySize(
  connection: DuckDBConnection,
  path: string,
  maxBytes: number,
): Promise<TableCounts> {
  const used = await usedBytes(connection, path);
  if (used <= maxBytes) return zeroCounts();
  const union = TIMED_TABLES.map(({ table, time }) => `SELECT ${time} AS t FROM ${table}`).join(
    ' UNION ALL ',
  );
  const [total] = (await connection.runAndReadAll(`SELECT count(*) FROM (${union})`)).getRowsJS()[0] ?? [];
  const rows = Number(total ?? 0);
  if (rows === 0) return zeroCounts();
  // Rows to drop at the current bytes per live row, as a share of the rows.
  const share = Math.min(1, (used - maxBytes * SIZE_LOW_WATERMARK) / used);
  const reader = await connection.runAndReadAll(
    `SELECT approx_quantile(t, ${share.toFixed(6)}) AS cutoff, min(t) AS oldest FROM (${union})`,
  );
  const [cutoff, oldest] = reader.getRowsJS()[0] ?? [];
  if (typeof oldest !== 'bigint') return zeroCounts();
  const limit = typeof cutoff === 'bigint' && cutoff > oldest ? cutoff : oldest;
  // `<` keeps the cutoff instant; when the cutoff is the oldest instant itself, take it too.
  const counts = await deleteWhere(connection, (time) => `${time} ${limit === oldest ? '<=' : '<'} ${limit}`);
  await checkpoint(connection);
  return counts;
}

import type { DuckDBConnection, DuckDBType, DuckDBValue, JS } from '@duckdb/node-api';

export type Row = Record<string, JS>;

/**
 * A read-only handle on the store for the query functions: its own DuckDB connection, so queries
 * run beside the writer and see only committed (acknowledged) data.
 */
export class TelemetryReader {
  readonly connection: DuckDBConnection;

  constructor(connection: DuckDBConnection) {
    this.connection = connection;
  }

  async rows(
    sql: string,
    values?: Record<string, DuckDBValue>,
    types?: Record<string, DuckDBType | undefined>,
  ): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, values, types);
    return reader.getRowObjectsJS();
  }

  close(): void {
    this.connection.closeSync();
  }
}

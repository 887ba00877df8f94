import type { DuckDBConnection } from '@duckdb/node-api';
import type { Migration } from './schema.ts';

export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/**
 * Bring the telemetry database up to the code's schema, one transaction per migration. A file
 * written by a newer release is refused rather than half-understood (same rule as the services'
 * SQLite databases in the kit).
 */
export async function migrate(connection: DuckDBConnection, list: readonly Migration[]): Promise<number> {
  list.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `migration "${m.name}" has version ${m.version}; expected ${i + 1} (versions run 1, 2, 3, …)`,
      );
    }
  });
  await connection.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
  )`);
  const current = await schemaVersion(connection);
  const latest = list.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new SchemaTooNewError(
      `telemetry database schema is at version ${current} but this code knows versions up to ${latest}; ` +
        'it was written by a newer release. Upgrade Chaoscope or move the telemetry file aside; refusing to open it.',
    );
  }
  for (const m of list) {
    if (m.version <= current) continue;
    await connection.run('BEGIN TRANSACTION');
    try {
      await m.up(connection);
      await connection.run('INSERT INTO schema_migrations VALUES ($version, $name, now())', {
        version: m.version,
        name: m.name,
      });
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK');
      throw error;
    }
  }
  return latest;
}

export async function schemaVersion(connection: DuckDBConnection): Promise<number> {
  const reader = await connection.runAndReadAll(
    'SELECT coalesce(max(version), 0) AS v FROM schema_migrations',
  );
  return Number(reader.getRowsJS()[0]?.[0] ?? 0);
}

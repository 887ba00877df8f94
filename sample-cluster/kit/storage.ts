import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type Database = DatabaseSync;

export interface Migration {
  /** Strictly increasing from 1; never reuse or reorder a published version. */
  readonly version: number;
  readonly name: string;
  readonly up: string | ((db: Database) => void);
}

export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/**
 * Open the service's own SQLite database and bring its schema up to date. A database written by a
 * newer version of the service is refused rather than half-understood.
 *
 * WAL with synchronous=NORMAL: a committed transaction survives the process being killed (the
 * chaos this cluster exists for); only an OS crash could lose the last commits.
 */
export function openDatabase(path: string, migrations: readonly Migration[]): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;',
  );
  migrate(db, migrations);
  return db;
}

export function migrate(db: Database, migrations: readonly Migration[]): number {
  checkMigrationList(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as
    { v: number | null } | undefined;
  const current = row?.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new SchemaTooNewError(
      `database schema is at version ${current} but this code knows versions up to ${latest}; ` +
        'it was written by a newer release. Upgrade the service or restore an older database; refusing to start.',
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    transaction(db, () => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    });
  }
  return latest;
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `migration "${m.name}" has version ${m.version}; expected ${i + 1} (versions run 1, 2, 3, …)`,
      );
    }
  });
}

/** Run fn in one IMMEDIATE transaction; roll back on any throw. fn must be synchronous. */
export function transaction<T>(db: Database, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

import { describe, expect, it } from 'vitest';
import { OUTBOX_TABLE_SQL } from '../../kit/outbox.ts';
import { openDatabase, type Database } from '../../kit/storage.ts';
import { AUTH_MIGRATIONS } from './database.ts';

/** Columns and indexes of the outbox table, as SQLite reports them. */
function outboxShape(db: Database): unknown {
  const columns = db
    .prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(\'outbox\') ORDER BY cid')
    .all();
  const indexes = db
    .prepare(
      'SELECT il.name, il."unique", il.partial, ii.seqno, ii.name AS col FROM pragma_index_list(\'outbox\') il, pragma_index_info(il.name) ii ORDER BY il.name, ii.seqno',
    )
    .all();
  const partial = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' ORDER BY name")
    .all() as Array<{ name: string; sql: string }>;
  return {
    columns,
    indexes,
    where: partial.map((i) => [i.name, i.sql.replace(/^[\s\S]*\bWHERE\b/i, '').trim()]),
  };
}

describe('auth database', () => {
  it("has the kit outbox's table, so the kit Outbox runs on it", () => {
    const auth = openDatabase(':memory:', AUTH_MIGRATIONS);
    const kit = openDatabase(':memory:', [{ version: 1, name: 'outbox', up: OUTBOX_TABLE_SQL }]);
    try {
      expect(outboxShape(auth)).toEqual(outboxShape(kit));
    } finally {
      auth.close();
      kit.close();
    }
  });
});

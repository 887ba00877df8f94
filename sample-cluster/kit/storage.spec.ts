import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, SchemaTooNewError, transaction, type Migration } from './storage.ts';

const migrations: Migration[] = [
  { version: 1, name: 'notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)' },
  { version: 2, name: 'notes-author', up: "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT ''" },
];

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'chaoscope-storage-')), 'service.sqlite');

describe('openDatabase', () => {
  it('applies migrations in order once and survives reopening', () => {
    const path = tempDb();
    const db = openDatabase(path, migrations);
    db.prepare('INSERT INTO notes (text, author) VALUES (?, ?)').run('hello', 'ada');
    db.close();
    const again = openDatabase(path, migrations);
    const rows = again.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    expect(again.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'hello', author: 'ada' }]);
    again.close();
  });

  it('refuses a database written by newer code, naming both versions', () => {
    const path = tempDb();
    openDatabase(path, migrations).close();
    expect(() => openDatabase(path, migrations.slice(0, 1))).toThrow(SchemaTooNewError);
    expect(() => openDatabase(path, migrations.slice(0, 1))).toThrow(/version 2 .* up to 1/);
  });

  it('rejects a migration list with a gap', () => {
    expect(() => openDatabase(tempDb(), [migrations[1]!])).toThrow(/expected 1/);
  });

  it('rolls a failed migration back entirely', () => {
    const path = tempDb();
    const broken: Migration[] = [
      migrations[0]!,
      { version: 2, name: 'broken', up: 'CREATE TABLE t2 (x INTEGER); THIS IS NOT SQL' },
    ];
    expect(() => openDatabase(path, broken)).toThrow();
    const db = openDatabase(path, migrations);
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: 2 });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't2'").all()).toEqual([]);
    db.close();
  });
});

describe('transaction', () => {
  it('commits on success and rolls back on a throw', () => {
    const db = openDatabase(tempDb(), migrations);
    transaction(db, () => db.prepare("INSERT INTO notes (text) VALUES ('kept')").run());
    expect(() =>
      transaction(db, () => {
        db.prepare("INSERT INTO notes (text) VALUES ('lost')").run();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(db.prepare('SELECT text FROM notes').all()).toEqual([{ text: 'kept' }]);
    db.close();
  });
});

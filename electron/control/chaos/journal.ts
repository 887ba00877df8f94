/**
 * Active faults on disk, with what it takes to undo each: rewritten atomically (temp file, fsync,
 * rename) before a fault acts and after every step, so whatever moment the control plane dies at,
 * the file names every change still in force. Mode 0600: it can hold a token to revoke.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { undoStepSchema, type UndoStep } from './undo.ts';

export const journalEntrySchema = z.object({
  id: z.string(),
  description: z.string(),
  /** The services it touches, for the markers of a rollback after a restart (absent in older files). */
  services: z.array(z.string()).default([]),
  startedAt: z.string(),
  expiresAt: z.string().nullable(),
  /** In the order they were done; undone last first. */
  undo: z.array(undoStepSchema),
});
export type JournalEntry = z.infer<typeof journalEntrySchema>;

const journalFileSchema = z.object({ version: z.literal(1), active: z.array(journalEntrySchema) });

export class ChaosJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private readonly path: string;

  private constructor(path: string, found: readonly JournalEntry[]) {
    this.path = path;
    for (const entry of found) this.entries.set(entry.id, entry);
  }

  /**
   * Opens the journal; what it already holds was left by a control plane that stopped without
   * undoing it. A file that cannot be read is kept aside (never silently dropped) and reported.
   */
  static open(path: string): { journal: ChaosJournal; leftOver: JournalEntry[]; unreadable?: string } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { journal: new ChaosJournal(path, []), leftOver: [] };
      throw error;
    }
    const parsed = journalFileSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      const aside = `${path}.unreadable-${Date.now()}`;
      renameSync(path, aside);
      return { journal: new ChaosJournal(path, []), leftOver: [], unreadable: aside };
    }
    const journal = new ChaosJournal(path, parsed.data.active);
    return { journal, leftOver: parsed.data.active };
  }

  begin(entry: Omit<JournalEntry, 'undo'>): void {
    this.entries.set(entry.id, { ...entry, undo: [] });
    this.write();
  }

  addUndo(id: string, step: UndoStep): void {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no journal entry ${id}`);
    this.entries.set(id, { ...entry, undo: [...entry.undo, step] });
    this.write();
  }

  /** Drops one undo step once it ran (so a crash during a rollback does not repeat it). */
  undone(id: string, step: UndoStep): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    const index = entry.undo.lastIndexOf(step);
    if (index < 0) return;
    this.entries.set(id, { ...entry, undo: entry.undo.filter((_, i) => i !== index) });
    this.write();
  }

  end(id: string): void {
    if (this.entries.delete(id)) this.write();
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  list(): JournalEntry[] {
    return [...this.entries.values()];
  }

  private write(): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify({ version: 1, active: this.list() }, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

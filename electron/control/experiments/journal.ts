/**
 * The journal of one run, kept on disk in `<runs>/<run-id>/journal.json` and rewritten atomically
 * (temp file, fsync, rename) after every step. While `state` is "running" it also holds what the
 * rollbacks need (the faults the run applied, its explicit rollback actions with their templates
 * filled in), so a control plane that died mid-run can finish the rollbacks when it starts again
 * (recover.ts). Mode 0600; probe users' tokens and passwords are never in it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runJournalSchema, type RunJournal } from '../../api/experiments.ts';

// The schemas are part of the API contract (the report and progress events carry them).
export {
  PHASES,
  VERDICTS,
  markerSchema,
  runJournalSchema,
  sampleSchema,
  stepRecordSchema,
  type FaultMarker,
  type Phase,
  type RunJournal,
  type Sample,
  type StepRecord,
  type Verdict,
} from '../../api/experiments.ts';

export const JOURNAL_FILE = 'journal.json';

export function writeJournal(dir: string, journal: RunJournal): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, JOURNAL_FILE);
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(journal, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The journal in a run directory, or null when it is missing or unreadable. */
export function readJournal(dir: string): RunJournal | null {
  try {
    const parsed = runJournalSchema.safeParse(JSON.parse(readFileSync(join(dir, JOURNAL_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

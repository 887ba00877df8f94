/** Past (and current) runs, read back from their directories under `<CHAOSCOPE_HOME>/experiments/`. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, readJournal, type RunJournal } from './journal.ts';

export interface RunSummary {
  readonly runId: string;
  readonly title: string;
  readonly source: string;
  readonly runtime: string | null;
  readonly state: RunJournal['state'];
  readonly verdict: RunJournal['verdict'];
  readonly reason: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly dir: string;
  /** Null until the run has written them (at its end). */
  readonly reports: {
    readonly html: string | null;
    readonly markdown: string | null;
    readonly journal: string;
  };
}

/** A run id as the runner makes them (also keeps a request from naming a path outside the runs). */
export const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;

export function summarize(dir: string, journal: RunJournal): RunSummary {
  const file = (name: string) => (existsSync(join(dir, name)) ? join(dir, name) : null);
  return {
    runId: journal.runId,
    title: journal.title,
    source: journal.source,
    runtime: journal.runtime,
    state: journal.state,
    verdict: journal.verdict,
    reason: journal.reason,
    startedAt: journal.startedAt,
    endedAt: journal.endedAt,
    dir,
    reports: { html: file('report.html'), markdown: file('report.md'), journal: join(dir, JOURNAL_FILE) },
  };
}

/** Newest first (run ids start with their UTC start time). */
export function listRuns(runsDir: string, limit: number): RunSummary[] {
  if (!existsSync(runsDir)) return [];
  const out: RunSummary[] = [];
  const ids = readdirSync(runsDir)
    .filter((id) => RUN_ID.test(id))
    .sort()
    .reverse();
  for (const id of ids) {
    if (out.length >= limit) break;
    const journal = readJournal(join(runsDir, id));
    if (journal) out.push(summarize(join(runsDir, id), journal));
  }
  return out;
}

/** One run's journal and where it lives, or null for an unknown id. */
export function readRun(runsDir: string, runId: string): { journal: RunJournal; summary: RunSummary } | null {
  if (!RUN_ID.test(runId)) return null;
  const dir = join(runsDir, runId);
  const journal = readJournal(dir);
  return journal ? { journal, summary: summarize(dir, journal) } : null;
}

/**
 * After a crash: runs a previous control plane left "running" are finished here. Their faults
 * were applied through the chaos engine, whose own journal undoes them when the engine opens
 * (ChaosEngine.open); anything of theirs still active in this engine is rolled back too. Then
 * their explicit rollback actions run, and each gets the verdict "error" with a report saying
 * what happened. Call it once at start, after ChaosEngine.open.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJournal, writeJournal, type RunJournal, type StepRecord } from './journal.ts';
import type { ExperimentPorts } from './ports.ts';
import { writeReports } from './report.ts';
import { runRollbackAction } from './runner.ts';
import { rollbackActionSchema } from './schema.ts';

export interface RecoveredRun {
  readonly runId: string;
  readonly title: string;
  readonly report: string;
  /** Rollbacks that failed even now; each needs a person. */
  readonly errors: readonly string[];
}

export async function recoverExperiments(ports: ExperimentPorts, runsDir: string): Promise<RecoveredRun[]> {
  if (!existsSync(runsDir)) return [];
  const out: RecoveredRun[] = [];
  for (const runId of readdirSync(runsDir).sort()) {
    const dir = join(runsDir, runId);
    const journal = readJournal(dir);
    if (!journal || journal.state !== 'running') continue;
    // A run of a control plane that is still alive is not ours to finish.
    if (journal.pid !== process.pid && alive(journal.pid)) continue;
    out.push(await finish(ports, dir, journal));
  }
  return out;
}

async function finish(ports: ExperimentPorts, dir: string, journal: RunJournal): Promise<RecoveredRun> {
  const errors: string[] = [];
  let index = journal.steps.length;
  const step = async (title: string, run: () => Promise<{ detail: string | null; value: null }>) => {
    const entry: StepRecord = {
      index: index++,
      phase: 'rollback',
      kind: 'rollback-action',
      title,
      status: 'running',
      startedAt: new Date().toISOString(),
      endedAt: null,
      durationMs: null,
      detail: 'run by the restarted control plane',
      probe: null,
      heldAfterMs: null,
      faultId: null,
      note: null,
      group: null,
    };
    journal.steps.push(entry);
    try {
      const result = await run();
      entry.status = 'ok';
      entry.detail = `run by the restarted control plane${result.detail ? `: ${result.detail}` : ''}`;
      return null;
    } catch (error) {
      entry.status = 'failed';
      entry.detail = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      entry.endedAt = new Date().toISOString();
      entry.durationMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
      writeJournal(dir, journal);
    }
  };
  // Steps that were in flight when the control plane died.
  for (const s of journal.steps) if (s.status === 'running') s.status = 'cancelled';

  for (const id of [...journal.faults].reverse()) {
    const record = ports.engine.get(id);
    if (record?.state !== 'active') continue;
    try {
      await step(`roll back ${record.description}`, async () => {
        const r = await ports.engine.rollback(id, 'experiment interrupted by a control-plane restart');
        if (r.undoErrors.length > 0) throw new Error(r.undoErrors.join('; '));
        return { detail: r.state, value: null };
      });
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  const actions = z.array(rollbackActionSchema).safeParse(journal.pendingRollbacks);
  if (!actions.success) errors.push("the journal's rollback actions could not be read; run them by hand");
  for (const action of actions.success ? actions.data : []) {
    try {
      await runRollbackAction(ports, action, journal.runId, step);
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }

  journal.state = 'finished';
  journal.verdict = 'error';
  journal.reason =
    'interrupted: the control plane stopped during the run; at restart its faults were undone from the chaos journal' +
    (journal.pendingRollbacks.length > 0
      ? ` and its ${journal.pendingRollbacks.length} rollback action(s) ran`
      : '') +
    (errors.length > 0 ? `; rollbacks failed: ${errors.join('; ')}` : '');
  journal.endedAt = new Date().toISOString();
  journal.pendingRollbacks = [];
  journal.markers = journal.faults.map((id) => {
    const r = ports.engine.get(id);
    const known = journal.markers.find((m) => m.faultId === id);
    return {
      faultId: id,
      description: r?.description ?? known?.description ?? id,
      appliedAt: r ? Date.parse(r.startedAt) : (known?.appliedAt ?? Date.parse(journal.startedAt)),
      rolledBackAt: r?.endedAt ? Date.parse(r.endedAt) : Date.now(),
    };
  });
  writeJournal(dir, journal);
  const files = writeReports(dir, journal);
  return { runId: journal.runId, title: journal.title, report: files.report, errors };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

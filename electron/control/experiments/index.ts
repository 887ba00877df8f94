/**
 * The experiments API the control plane exposes (contract, CLI `experiment list|run`, the
 * Experiments view): list what can run, run one with a verdict and a report, follow its progress,
 * and — once at start — finish the runs a crashed control plane left behind.
 *
 *   const experiments = createExperiments({ ports, home });
 *   await experiments.recover();                       // after ChaosEngine.open
 *   experiments.experimentsList();                     // built-ins + <home>/experiments/library
 *   const { verdict, report, journal } = await experiments.experimentRun('kill-timeline', { signal });
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { listExperiments, loadExperiment, type ExperimentEntry } from './library.ts';
import type { ExperimentPorts } from './ports.ts';
import { recoverExperiments, type RecoveredRun } from './recover.ts';
import { runExperiment, type ExperimentProgress, type RunResult } from './runner.ts';

export interface ExperimentsOptions {
  readonly ports: ExperimentPorts;
  /** CHAOSCOPE_HOME: runs go to `<home>/experiments/<run-id>/`, user files in `<home>/experiments/library/`. */
  readonly home: string;
}

export interface ExperimentRunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ExperimentProgress) => void;
}

export interface Experiments {
  experimentsList(): ExperimentEntry[];
  /**
   * A built-in or library name, a .json/.yaml path, or a definition object. One run at a time
   * (CLI, view and schedules share this): ExperimentBusyError while another one runs.
   */
  experimentRun(ref: unknown, options?: ExperimentRunOptions): Promise<RunResult>;
  /** Like experimentRun, but answers the run id at once; `done` settles at the end. */
  start(ref: unknown, options?: ExperimentRunOptions): { runId: string; done: Promise<RunResult> };
  /** Stops a run in progress (its rollbacks still run); false when no such run is in progress. */
  abort(runId: string, reason?: string): boolean;
  /** Aborts the runs in progress and waits for their rollbacks (call before the engine closes). */
  close(): Promise<void>;
  /** Progress of every run (for the event bus). */
  onProgress(listener: (event: ExperimentProgress) => void): () => void;
  /** Runs in progress, by id. */
  running(): string[];
  recover(): Promise<RecoveredRun[]>;
  readonly runsDir: string;
  readonly libraryDir: string;
}

export function createExperiments(options: ExperimentsOptions): Experiments {
  const runsDir = join(options.home, 'experiments');
  const libraryDir = join(runsDir, 'library');
  const events = new EventEmitter();
  /** Runs in progress → what stops them. */
  const active = new Map<string, AbortController>();
  const inFlight = new Set<Promise<unknown>>();
  let busy = false;
  const start = (ref: unknown, runOptions: ExperimentRunOptions = {}) => {
    if (busy) throw new ExperimentBusyError([...active.keys()][0] ?? null);
    const { experiment, source } = loadExperiment(ref, [libraryDir]);
    busy = true;
    const stop = new AbortController();
    const outer = runOptions.signal;
    const onOuter = () => stop.abort(outer?.reason);
    if (outer?.aborted) onOuter();
    outer?.addEventListener('abort', onOuter, { once: true });
    let runId: string | null = null;
    let done: Promise<RunResult>;
    try {
      // The runner announces "started" (with its id) before its first await.
      done = runExperiment(options.ports, experiment, runsDir, {
        source,
        signal: stop.signal,
        onProgress: (event) => {
          if (event.type === 'started') active.set((runId = event.runId), stop);
          runOptions.onProgress?.(event);
          events.emit('progress', event);
        },
      });
    } catch (error) {
      busy = false;
      throw error;
    }
    done = done.finally(() => {
      outer?.removeEventListener('abort', onOuter);
      if (runId) active.delete(runId);
      busy = false;
      inFlight.delete(settled);
    });
    const settled: Promise<unknown> = done.catch(() => undefined);
    inFlight.add(settled);
    if (!runId) throw new Error('the experiment run did not start');
    return { runId: runId as string, done };
  };
  return {
    runsDir,
    libraryDir,
    experimentsList: () => listExperiments([libraryDir]),
    experimentRun: async (ref, runOptions) => start(ref, runOptions).done,
    start,
    abort(runId, reason = 'stopped by the operator') {
      const stop = active.get(runId);
      if (!stop) return false;
      stop.abort(new Error(reason));
      return true;
    },
    async close() {
      for (const stop of active.values()) stop.abort(new Error('the control plane is stopping'));
      await Promise.all([...inFlight]);
    },
    onProgress(listener) {
      events.on('progress', listener);
      return () => events.off('progress', listener);
    },
    running: () => [...active.keys()],
    recover: () => recoverExperiments(options.ports, runsDir),
  };
}

/** Another run is in progress: experiments run one at a time. */
export class ExperimentBusyError extends Error {
  override readonly name = 'ExperimentBusyError';
  readonly runId: string | null;
  constructor(runId: string | null) {
    super(`another experiment is running${runId ? ` (${runId})` : ''}; experiments run one at a time`);
    this.runId = runId;
  }
}

export { clusterExperimentPorts, type ExperimentPorts, type ClusterExperimentPortsOptions } from './ports.ts';
export { listExperiments, loadExperiment, BUILTIN_DIR, type ExperimentEntry } from './library.ts';
export {
  parseExperiment,
  experimentSchema,
  ExperimentFormatError,
  type Experiment,
  type ExperimentInput,
} from './schema.ts';
export { runExperiment, type ExperimentProgress, type RunResult } from './runner.ts';
export { recoverExperiments, type RecoveredRun } from './recover.ts';
export { VERDICTS, type Verdict, type RunJournal } from './journal.ts';
export {
  checkDefinition,
  readDefinition,
  saveDefinition,
  problemText,
  DefinitionRejectedError,
  LibraryRefusedError,
  type DefinitionProblem,
} from './library-files.ts';
export { listRuns, readRun, RUN_ID, type RunSummary } from './runs.ts';

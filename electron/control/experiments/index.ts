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
  /** A built-in or library name, a .json/.yaml path, or a definition object. */
  experimentRun(ref: unknown, options?: ExperimentRunOptions): Promise<RunResult>;
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
  const active = new Set<string>();
  return {
    runsDir,
    libraryDir,
    experimentsList: () => listExperiments([libraryDir]),
    async experimentRun(ref, runOptions = {}) {
      const { experiment, source } = loadExperiment(ref, [libraryDir]);
      let runId: string | null = null;
      try {
        return await runExperiment(options.ports, experiment, runsDir, {
          source,
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          onProgress: (event) => {
            if (event.type === 'started') active.add((runId = event.runId));
            runOptions.onProgress?.(event);
            events.emit('progress', event);
          },
        });
      } finally {
        if (runId) active.delete(runId);
      }
    },
    onProgress(listener) {
      events.on('progress', listener);
      return () => events.off('progress', listener);
    },
    running: () => [...active],
    recover: () => recoverExperiments(options.ports, runsDir),
  };
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

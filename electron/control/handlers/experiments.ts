/**
 * The handlers of the experiment commands (electron/api/experiment-commands.ts) over
 * ctx.experiments, and the bridge of its progress onto the bus (`experiment.progress`).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { EXPERIMENT_COMMANDS } from '../../api/experiment-commands.ts';
import { reportPath } from '../../api/experiment-commands.ts';
import { ApiError } from '../../api/errors.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';
import {
  checkDefinition,
  DefinitionRejectedError,
  ExperimentBusyError,
  ExperimentFormatError,
  LibraryRefusedError,
  listRuns,
  problemText,
  readDefinition,
  readRun,
  saveDefinition,
} from '../experiments/index.ts';

/** A `ref` that is a name (not a definition's text). */
const NAME = /^[a-z][a-z0-9-]{0,59}$/;

export function experimentsHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof EXPERIMENT_COMMANDS> {
  const { experiments } = ctx;
  // Every run, whoever started it (a schedule too), is followed on the bus. Set up once, at start.
  experiments.onProgress((event) => ctx.bus.publish('experiment.progress', event));
  const running = () => experiments.running()[0] ?? null;

  return {
    async 'experiments.list'() {
      return {
        experiments: experiments.experimentsList().map((e) => ({ ...e, tags: [...e.tags] })),
        libraryDir: experiments.libraryDir,
        running: running(),
      };
    },

    async 'experiments.get'({ name }) {
      const found = readDefinition(name, experiments.libraryDir);
      if (!found) throw new ApiError('NOT_FOUND', `no experiment "${name}"`);
      const checked = checkDefinition(found.source);
      return {
        entry: { ...found.entry, tags: [...found.entry.tags] },
        source: found.source,
        definition: checked.experiment,
        problems: checked.problems,
      };
    },

    async 'experiments.validate'({ source }) {
      const checked = checkDefinition(source);
      return {
        ok: checked.problems.length === 0,
        title: checked.experiment?.title ?? null,
        problems: checked.problems,
      };
    },

    async 'experiments.save'({ name, source }) {
      try {
        const entry = saveDefinition(name, source, experiments.libraryDir);
        return { entry: { ...entry, tags: [...entry.tags] } };
      } catch (error) {
        if (error instanceof DefinitionRejectedError)
          throw new ApiError('BAD_REQUEST', error.message, error.problems.map(problemText));
        if (error instanceof LibraryRefusedError)
          throw new ApiError(/built-in/.test(error.message) ? 'CONFLICT' : 'BAD_REQUEST', error.message);
        throw error;
      }
    },

    async 'experiments.run'({ ref }) {
      let definition: unknown = ref;
      if (!NAME.test(ref.trim())) {
        // A definition's text: checked here, so its problems come back placed at their lines.
        const checked = checkDefinition(ref);
        if (!checked.experiment)
          throw new ApiError(
            'BAD_REQUEST',
            `the definition is not a valid experiment: ${checked.problems.slice(0, 3).map(problemText).join('; ')}`,
            checked.problems.map(problemText),
          );
        definition = checked.experiment;
      } else {
        definition = ref.trim();
        const entry = experiments.experimentsList().find((e) => e.name === definition);
        if (!entry)
          throw new ApiError(
            'NOT_FOUND',
            `no experiment "${ref}"; known: ${experiments
              .experimentsList()
              .map((e) => e.name)
              .join(', ')}`,
          );
        if (entry.problem) throw new ApiError('BAD_REQUEST', `${entry.name} cannot run: ${entry.problem}`);
      }
      try {
        const { runId, done } = experiments.start(definition);
        // The outcome travels as events and in the journal; nothing waits on this promise.
        done.catch((error: unknown) =>
          ctx.bus.publish('control.notice', {
            level: 'error',
            message: `experiment run ${runId} failed inside the control plane: ${error instanceof Error ? error.message : String(error)}`,
            at: new Date().toISOString(),
          }),
        );
        const run = readRun(experiments.runsDir, runId);
        return { runId, title: run?.journal.title ?? '', dir: run?.summary.dir ?? experiments.runsDir };
      } catch (error) {
        if (error instanceof ExperimentBusyError) throw new ApiError('CONFLICT', error.message);
        if (error instanceof ExperimentFormatError)
          throw new ApiError('BAD_REQUEST', error.message, [...error.problems]);
        throw error;
      }
    },

    async 'experiments.abort'({ runId }) {
      if (experiments.abort(runId)) return { runId, aborting: true };
      const run = readRun(experiments.runsDir, runId);
      if (!run) throw new ApiError('NOT_FOUND', `no experiment run ${runId}`);
      // Already over: nothing to stop.
      return { runId, aborting: false };
    },

    async 'experiments.runs'({ limit }) {
      return { runs: listRuns(experiments.runsDir, limit), running: running() };
    },

    async 'experiments.report'({ runId, html }) {
      const run = readRun(experiments.runsDir, runId);
      if (!run) throw new ApiError('NOT_FOUND', `no experiment run ${runId}`);
      const text = (path: string | null) => (path && existsSync(path) ? readFileSync(path, 'utf8') : null);
      return {
        summary: run.summary,
        journal: run.journal,
        markdown: text(run.summary.reports.markdown),
        html: html ? text(run.summary.reports.html) : null,
        url: run.summary.reports.html ? reportPath(runId) : null,
      };
    },
  };
}

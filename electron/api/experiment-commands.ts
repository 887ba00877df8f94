/**
 * The experiment part of the contract, spread into COMMANDS and EVENTS: list, read, check and save
 * definitions (built-ins are read-only), run one (one at a time, whoever asks: CLI, view or a
 * schedule), follow it as `experiment.progress` events, abort it (its rollbacks still run), and read
 * past runs and their reports. Format reference: docs/experiments.md.
 */
import { z } from 'zod';
import { runJournalSchema, stepRecordSchema, VERDICTS } from './experiments.ts';

/** A library name: what `experiment run <name>` takes. Built-ins use the same shape. */
export const experimentNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,59}$/, 'lower-case letters, digits and dashes, starting with a letter');
export const runIdSchema = z
  .string()
  .regex(/^\d{8}-\d{6}-[0-9a-f]{6}$/, 'a run id such as 20260101-120000-a1b2c3');

export const experimentEntrySchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  origin: z.enum(['builtin', 'library']),
  /** The definition file on the control plane's machine. */
  file: z.string(),
  /** Why the file cannot run (it does not parse); listed anyway so the user sees it. */
  problem: z.string().optional(),
});
export type ExperimentEntryInfo = z.infer<typeof experimentEntrySchema>;

/** One problem of a definition, at a line of its text when it can be placed (1-based). */
export const definitionProblemSchema = z.object({
  /** Where in the definition, e.g. `method[0].fault.change.action`; empty for the whole text. */
  path: z.string(),
  message: z.string(),
  line: z.number().int().nullable(),
  column: z.number().int().nullable(),
});
export type DefinitionProblemInfo = z.infer<typeof definitionProblemSchema>;

export const runSummarySchema = z.object({
  runId: z.string(),
  title: z.string(),
  /** "builtin:<name>", "library:<name>", a file path, or "definition". */
  source: z.string(),
  runtime: z.string().nullable(),
  state: z.enum(['running', 'finished']),
  verdict: z.enum(VERDICTS).nullable(),
  reason: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  dir: z.string(),
  /** Files on the control plane's machine; html and markdown appear when the run ends. */
  reports: z.object({ html: z.string().nullable(), markdown: z.string().nullable(), journal: z.string() }),
});
export type RunSummaryInfo = z.infer<typeof runSummarySchema>;

/** A definition's text: YAML (or JSON, which is YAML too). */
const sourceText = z.string().min(1).max(200_000);

export const EXPERIMENT_COMMANDS = {
  /** Built-ins and the user's library, with where their files are and which run is in progress. */
  'experiments.list': {
    input: z.object({}).strict().default({}),
    output: z.object({
      experiments: z.array(experimentEntrySchema),
      libraryDir: z.string(),
      /** The run in progress, if any (one at a time). */
      running: z.string().nullable(),
    }),
  },
  /** One definition: its text as written, and its parsed form (defaults applied) or its problems. */
  'experiments.get': {
    input: z.object({ name: experimentNameSchema }).strict(),
    output: z.object({
      entry: experimentEntrySchema,
      source: z.string(),
      definition: z.unknown().nullable(),
      problems: z.array(definitionProblemSchema),
    }),
  },
  /** Checks a definition's text without saving or running it (the editor's live check). */
  'experiments.validate': {
    input: z.object({ source: z.string().max(200_000) }).strict(),
    output: z.object({
      ok: z.boolean(),
      title: z.string().nullable(),
      problems: z.array(definitionProblemSchema),
    }),
  },
  /**
   * Saves a definition into the library (`<name>.yaml`). BAD_REQUEST listing every problem (with
   * its line) when it does not check; CONFLICT for the name of a built-in.
   */
  'experiments.save': {
    input: z.object({ name: experimentNameSchema, source: sourceText }).strict(),
    output: z.object({ entry: experimentEntrySchema }),
  },
  /**
   * Starts a run and answers at once with its id; `experiment.progress` events follow it to the
   * end. `ref` is a built-in or library name, or a definition's text. CONFLICT while another run
   * is in progress.
   */
  'experiments.run': {
    input: z.object({ ref: sourceText }).strict(),
    output: z.object({ runId: z.string(), title: z.string(), dir: z.string() }),
  },
  /** Stops a run in progress; its rollbacks run before it ends (verdict `aborted`). */
  'experiments.abort': {
    input: z.object({ runId: runIdSchema }).strict(),
    output: z.object({ runId: z.string(), aborting: z.boolean() }),
  },
  /** Past and current runs, newest first. */
  'experiments.runs': {
    input: z
      .object({ limit: z.number().int().min(1).max(500).default(50) })
      .strict()
      .default({ limit: 50 }),
    output: z.object({ runs: z.array(runSummarySchema), running: z.string().nullable() }),
  },
  /** One run: its journal, its Markdown report, and where the reports are. */
  'experiments.report': {
    input: z
      .object({
        runId: runIdSchema,
        /** Also answer the self-contained HTML page (web mode serves it from this). */
        html: z.boolean().default(false),
      })
      .strict(),
    output: z.object({
      summary: runSummarySchema,
      journal: runJournalSchema,
      markdown: z.string().nullable(),
      html: z.string().nullable(),
      /** Where web mode serves the HTML report (behind the token), once it exists. */
      url: z.string().nullable(),
    }),
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const experimentProgressSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), runId: z.string(), title: z.string(), dir: z.string() }),
  z.object({ type: z.literal('step'), runId: z.string(), step: stepRecordSchema }),
  z.object({ type: z.literal('aborting'), runId: z.string(), reason: z.string() }),
  z.object({
    type: z.literal('finished'),
    runId: z.string(),
    verdict: z.enum(VERDICTS),
    reason: z.string(),
    report: z.string(),
  }),
]);
export type ExperimentProgressInfo = z.infer<typeof experimentProgressSchema>;

export const EXPERIMENT_EVENTS = {
  /** A run started, a step began or ended, an abort began, or the run ended with its verdict. */
  'experiment.progress': experimentProgressSchema,
} as const satisfies Record<string, z.ZodType>;

/** Where web mode serves a run's HTML report. */
export function reportPath(runId: string): string {
  return `/reports/${runId}/report.html`;
}

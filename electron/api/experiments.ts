/**
 * The record of one experiment run, as the control plane keeps it on disk
 * (`<CHAOSCOPE_HOME>/experiments/<run-id>/journal.json`) and as the API hands it out
 * (`experiments.report`, `experiment.progress`). Reference: docs/experiments.md.
 */
import { z } from 'zod';

export const VERDICTS = ['passed', 'failed', 'aborted', 'error'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const PHASES = [
  'setup',
  'steady-state-before',
  'method',
  'steady-state-after',
  'abort-check',
  'rollback',
] as const;
export type Phase = (typeof PHASES)[number];

const probeResult = z.object({
  probe: z.string(),
  ok: z.boolean(),
  value: z.union([z.number(), z.string(), z.null()]),
  unit: z.enum(['status', '%', 'ms', 'state']).nullable(),
  detail: z.string(),
  chart: z.number().nullable(),
  at: z.string(),
  tookMs: z.number(),
});

export const stepRecordSchema = z.object({
  index: z.number().int(),
  phase: z.enum(PHASES),
  kind: z.enum([
    'user',
    'setup-call',
    'probe',
    'fault',
    'wait',
    'rollback',
    'rollback-fault',
    'rollback-action',
  ]),
  title: z.string(),
  status: z.enum(['running', 'ok', 'deviated', 'failed', 'skipped', 'cancelled']),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  detail: z.string().nullable(),
  /** The probe's measurement (for `within` probes: the last one; heldAfterMs: when the one that held was sent). */
  probe: probeResult.nullable(),
  heldAfterMs: z.number().nullable(),
  faultId: z.string().nullable(),
  /** Set when a runtime-specific substitute ran instead of the fault the file asks for. */
  note: z.string().nullable(),
  /** Index of the parallel group it belongs to. */
  group: z.number().int().nullable(),
});
export type StepRecord = z.infer<typeof stepRecordSchema>;

export const sampleSchema = z.object({
  series: z.string(),
  at: z.number(),
  value: z.number().nullable(),
  ok: z.boolean(),
});
export type Sample = z.infer<typeof sampleSchema>;

export const markerSchema = z.object({
  faultId: z.string(),
  description: z.string(),
  appliedAt: z.number(),
  rolledBackAt: z.number().nullable(),
});
export type FaultMarker = z.infer<typeof markerSchema>;

export const runJournalSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  title: z.string(),
  description: z.string(),
  /** Where the definition came from: a built-in name, a file, or "definition". */
  source: z.string(),
  runtime: z.string().nullable(),
  state: z.enum(['running', 'finished']),
  /** Of the control plane running it, to tell a crashed run from one still in progress. */
  pid: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  verdict: z.enum(VERDICTS).nullable(),
  reason: z.string().nullable(),
  steps: z.array(stepRecordSchema),
  samples: z.array(sampleSchema),
  markers: z.array(markerSchema),
  /** Engine ids of every fault the run applied, for the rollbacks (also after a crash). */
  faults: z.array(z.string()),
  /** The explicit rollbacks, templates filled in, for a restarted control plane to run. */
  pendingRollbacks: z.array(z.unknown()),
  /** Client-side figures of the runner's own traffic. */
  traffic: z
    .object({
      sent: z.number(),
      ok: z.number(),
      failed: z.number(),
      byStatus: z.record(z.string(), z.number()),
    })
    .nullable(),
  /** The experiment as run (templates filled in, defaults applied). */
  experiment: z.unknown(),
});
export type RunJournal = z.infer<typeof runJournalSchema>;

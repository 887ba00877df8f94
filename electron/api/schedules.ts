/**
 * Schedules in the contract: repeat a fault or an experiment on an interval, within a
 * blast-radius limit (electron/control/chaos/schedules.ts runs them).
 */
import { z } from 'zod';
import { chaosFaultSchema } from './chaos.ts';

export const blastRadiusSchema = z
  .object({
    /** At most this many faults started by the schedule active at once. */
    maxActiveFaults: z.number().int().min(1).max(100).default(1),
    /** At most this share (percent) of the target service's instances under the schedule's faults. */
    maxInstancePercent: z.number().min(1).max(100).default(100),
  })
  .strict();

export const scheduleInputSchema = z
  .object({
    name: z.string().min(1).max(100),
    everyMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3600_000),
    enabled: z.boolean().default(true),
    blastRadius: blastRadiusSchema.default({ maxActiveFaults: 1, maxInstancePercent: 100 }),
    what: z.discriminatedUnion('kind', [
      z
        .object({
          kind: z.literal('fault'),
          fault: chaosFaultSchema.refine((f) => f.durationMs !== undefined, {
            message: 'a scheduled fault needs durationMs, so it always ends',
            path: ['durationMs'],
          }),
        })
        .strict(),
      /** A built-in or library experiment name, or a file path. */
      z.object({ kind: z.literal('experiment'), experiment: z.string().min(1).max(1_000) }).strict(),
    ]),
  })
  .strict();
export type ScheduleInput = z.input<typeof scheduleInputSchema>;

export const scheduleStatsSchema = z.object({
  runs: z.number().int(),
  skipped: z.number().int(),
  failures: z.number().int(),
  lastRunAt: z.string().nullable(),
  /** The last outcome: a fault's description and state, an experiment's verdict, or why it was skipped. */
  lastResult: z.string().nullable(),
});

export const scheduleSchema = scheduleInputSchema.extend({
  id: z.string(),
  createdAt: z.string(),
  stats: scheduleStatsSchema,
});
export type Schedule = z.infer<typeof scheduleSchema>;

/** A schedule as commands and events give it: what is kept, plus when its timer fires next. */
export const scheduleInfoSchema = scheduleSchema.extend({
  /** Null while it is switched off or the scheduler is stopped. */
  nextRunAt: z.string().nullable(),
});
export type ScheduleInfo = z.infer<typeof scheduleInfoSchema>;

/**
 * The chaos engine's part of the contract, spread into COMMANDS and EVENTS. Every fault — on
 * containers or processes, in request handling, on auth, on breakers — goes through `chaos.apply`,
 * so it is journalled (rolled back even after a crash), listed in history and marked in telemetry.
 */
import { z } from 'zod';
import { chaosFaultSchema, chaosMarkerSchema, faultRecordSchema } from './chaos.ts';
import { scheduleInfoSchema, scheduleInputSchema } from './schedules.ts';
import { serviceNameSchema, serviceStatusSchema } from './schemas.ts';

/** A marker as the telemetry store keeps it (a chaos marker plus its time in Unix ms). */
export const storedMarkerSchema = z.object({
  time: z.number(),
  at: z.string(),
  kind: z.string(),
  phase: z.enum(['applied', 'rolled-back', 'failed']),
  faultId: z.string(),
  description: z.string(),
  services: z.array(z.string()),
  reason: z.string().nullable(),
});
export type StoredMarkerInfo = z.infer<typeof storedMarkerSchema>;

export const CHAOS_COMMANDS = {
  /** Apply one fault (or, with `dryRun`, say what it would do); answers its record. */
  'chaos.apply': { input: chaosFaultSchema, output: faultRecordSchema },
  /** Active faults and recent history (newest first). */
  'chaos.list': {
    input: z
      .object({ limit: z.number().int().min(1).max(500).default(100) })
      .strict()
      .default({ limit: 100 }),
    output: z.object({ active: z.array(faultRecordSchema), recent: z.array(faultRecordSchema) }),
  },
  /** Roll one fault back now; NOT_FOUND for an unknown id, its record as it ended otherwise. */
  'chaos.rollback': {
    input: z.object({ id: z.string().min(1).max(100) }).strict(),
    output: faultRecordSchema,
  },
  /** Roll back every active fault of the engine ("reset all"); answers the records as they ended. */
  'chaos.reset': {
    input: z.object({}).strict().default({}),
    output: z.object({ rolledBack: z.array(faultRecordSchema) }),
  },
  /**
   * Run a service with N instances (container runtimes); a fault of the engine, so "reset all"
   * scales it back. The process runtime answers UNSUPPORTED.
   */
  'service.scale': {
    input: z
      .object({
        service: serviceNameSchema,
        replicas: z.number().int().min(0).max(20),
        /** Scale back after this long; without it, until reset. */
        durationMs: z
          .number()
          .int()
          .min(100)
          .max(24 * 3600_000)
          .optional(),
      })
      .strict(),
    output: z.object({ service: serviceStatusSchema, fault: faultRecordSchema }),
  },
  /** Markers kept with the telemetry over a window (default: the last 15 minutes), oldest first. */
  'telemetry.markers': {
    input: z
      .object({
        from: z.number().optional(),
        to: z.number().optional(),
        service: serviceNameSchema.optional(),
        limit: z.number().int().min(1).max(10_000).default(1_000),
      })
      .strict()
      .default({ limit: 1_000 }),
    output: z.object({ markers: z.array(storedMarkerSchema) }),
  },

  // --- schedules: repeat a fault or an experiment within a blast radius ----------------------
  'schedules.list': {
    input: z.object({}).strict().default({}),
    output: z.object({ schedules: z.array(scheduleInfoSchema) }),
  },
  /** Armed at once when enabled; the first run comes one interval from now. */
  'schedules.create': { input: scheduleInputSchema, output: scheduleInfoSchema },
  /** Change the interval, the limit or the name, or switch it on and off; stats are kept. */
  'schedules.update': {
    input: z
      .object({
        id: z.string().min(1).max(100),
        name: z.string().min(1).max(100).optional(),
        everyMs: z
          .number()
          .int()
          .min(1_000)
          .max(7 * 24 * 3600_000)
          .optional(),
        enabled: z.boolean().optional(),
        blastRadius: scheduleInputSchema.shape.blastRadius.optional(),
      })
      .strict(),
    output: scheduleInfoSchema,
  },
  'schedules.remove': {
    input: z.object({ id: z.string().min(1).max(100) }).strict(),
    output: z.object({ removed: z.boolean() }),
  },
  /** One run now, within the blast radius (a skip is an answer, with its reason in lastResult). */
  'schedules.run': {
    input: z.object({ id: z.string().min(1).max(100) }).strict(),
    output: scheduleInfoSchema,
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const CHAOS_EVENTS = {
  /** A fault of the engine was applied, changed state or ended. */
  'chaos.fault': faultRecordSchema,
  /** A fault's start or end, for charts and trace views. */
  'chaos.marker': chaosMarkerSchema,
  /** A schedule was created, ran, was skipped, or changed. */
  'schedule.changed': scheduleInfoSchema,
  /** A schedule was removed (its faults still end by their duration). */
  'schedule.removed': z.object({ id: z.string() }),
} as const satisfies Record<string, z.ZodType>;

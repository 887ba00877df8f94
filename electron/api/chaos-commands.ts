/**
 * The chaos engine's part of the contract, spread into COMMANDS and EVENTS. Every fault — on
 * containers or processes, in request handling, on auth, on breakers — goes through `chaos.apply`,
 * so it is journalled (rolled back even after a crash), listed in history and marked in telemetry.
 */
import { z } from 'zod';
import { chaosFaultSchema, chaosMarkerSchema, faultRecordSchema } from './chaos.ts';

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
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const CHAOS_EVENTS = {
  /** A fault of the engine was applied, changed state or ended. */
  'chaos.fault': faultRecordSchema,
  /** A fault's start or end, for charts and trace views. */
  'chaos.marker': chaosMarkerSchema,
} as const satisfies Record<string, z.ZodType>;

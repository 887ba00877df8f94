/** The chaos engine's part of the contract: commands and event topics, spread into COMMANDS and EVENTS. */
import type { z } from 'zod';
import { chaosMarkerSchema, faultRecordSchema } from './chaos.ts';

export const CHAOS_COMMANDS = {} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const CHAOS_EVENTS = {
  /** A fault of the engine was applied, changed state or ended. */
  'chaos.fault': faultRecordSchema,
  /** A fault's start or end, for charts and trace views. */
  'chaos.marker': chaosMarkerSchema,
} as const satisfies Record<string, z.ZodType>;

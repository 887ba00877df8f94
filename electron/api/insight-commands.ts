/** The insight part of the contract: commands and event topics, spread into COMMANDS and EVENTS. */
import type { z } from 'zod';

export const INSIGHT_COMMANDS = {} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const INSIGHT_EVENTS = {} as const satisfies Record<string, z.ZodType>;

/** The auth part of the contract: commands and event topics, spread into COMMANDS and EVENTS. */
import type { z } from 'zod';

export const AUTH_COMMANDS = {} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export const AUTH_EVENTS = {} as const satisfies Record<string, z.ZodType>;

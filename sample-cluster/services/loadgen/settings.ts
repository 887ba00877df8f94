import { z } from 'zod';
import { parse } from '../../kit/validate.ts';

export const OPERATIONS = [
  'signup',
  'login',
  'refresh',
  'post',
  'timeline',
  'profile',
  'follow',
  'stream',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** What a tick can do; signing up, logging in and refreshing happen as a user needs them. */
export const TICK_ACTIONS = ['post', 'timeline', 'profile', 'follow'] as const;
export type TickAction = (typeof TICK_ACTIONS)[number];

const weight = z.number().finite().min(0, 'a weight cannot be negative').max(1_000);

export const mixSchema = z
  .object({ post: weight, timeline: weight, profile: weight, follow: weight })
  .strict()
  .refine((mix) => Object.values(mix).some((w) => w > 0), 'at least one weight must be above zero');
export type Mix = z.infer<typeof mixSchema>;

export const LIMITS = {
  ratePerSecond: { min: 0, max: 500 },
  users: { min: 1, max: 500 },
  streamers: { min: 0, max: 100 },
  maxInFlight: { min: 1, max: 1_000 },
} as const;

const settingsFields = {
  running: z.boolean(),
  /** Ticks per second; each tick is one user action (plus a login when that user needs one). */
  ratePerSecond: z.number().finite().min(LIMITS.ratePerSecond.min).max(LIMITS.ratePerSecond.max),
  users: z.number().int().min(LIMITS.users.min).max(LIMITS.users.max),
  /** Users (the first N) kept connected to the event stream. */
  streamers: z.number().int().min(LIMITS.streamers.min).max(LIMITS.streamers.max),
  mix: mixSchema,
  /** Requests allowed at once; ticks beyond it are skipped and counted, never queued. */
  maxInFlight: z.number().int().min(LIMITS.maxInFlight.min).max(LIMITS.maxInFlight.max),
};

export const settingsSchema = z
  .object(settingsFields)
  .strict()
  .refine((s) => s.streamers <= s.users, {
    message: 'streamers cannot exceed users (each streamer is one of the users)',
    path: ['streamers'],
  });
export type LoadSettings = z.infer<typeof settingsSchema>;

/** The body of PUT /admin/load: any subset; `mix` may name only the weights it changes. */
export const settingsPatchSchema = z
  .object({
    ...settingsFields,
    mix: z.object({ post: weight, timeline: weight, profile: weight, follow: weight }).strict().partial(),
  })
  .strict()
  .partial();
export type LoadSettingsPatch = z.infer<typeof settingsPatchSchema>;

export const DEFAULT_MIX: Mix = { post: 2, timeline: 5, profile: 2, follow: 1 };

export const DEFAULT_SETTINGS: LoadSettings = {
  running: true,
  ratePerSecond: 5,
  users: 8,
  streamers: 2,
  mix: DEFAULT_MIX,
  maxInFlight: 50,
};

/**
 * Apply a patch and check the result as a whole, so rules that span fields (streamers ≤ users,
 * not every weight zero) hold after every change. Throws a 400 problem naming each issue.
 */
export function applySettingsPatch(current: LoadSettings, patch: unknown): LoadSettings {
  const valid = parse(settingsPatchSchema, patch);
  const merged = { ...current, ...valid, mix: { ...current.mix, ...valid.mix } };
  return parse(settingsSchema, merged);
}

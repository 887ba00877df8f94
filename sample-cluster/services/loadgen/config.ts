import { z } from 'zod';
import { baseConfigSchema } from '../../kit/config.ts';
import { DEFAULT_MIX, DEFAULT_SETTINGS, LIMITS, mixSchema, type LoadSettings } from './settings.ts';

/** "post=2,timeline=5,profile=2,follow=1"; weights not named keep their default. */
const mixFromEnv = z
  .string()
  .transform((text, ctx) => {
    const mix: Record<string, number> = { ...DEFAULT_MIX };
    for (const part of text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const match = /^(post|timeline|profile|follow)=(\d+(?:\.\d+)?)$/.exec(part);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `"${part}" is not name=weight with name one of post, timeline, profile, follow`,
        });
        return z.NEVER;
      }
      mix[match[1]!] = Number(match[2]);
    }
    return mix;
  })
  .pipe(mixSchema);

export const loadgenConfigSchema = baseConfigSchema
  .extend({
    /** Start generating load as soon as the service is up (otherwise wait for PUT /admin/load). */
    LOADGEN_AUTOSTART: z.stringbool().default(true),
    LOADGEN_RATE: z.coerce
      .number()
      .min(LIMITS.ratePerSecond.min)
      .max(LIMITS.ratePerSecond.max)
      .default(DEFAULT_SETTINGS.ratePerSecond),
    LOADGEN_USERS: z.coerce
      .number()
      .int()
      .min(LIMITS.users.min)
      .max(LIMITS.users.max)
      .default(DEFAULT_SETTINGS.users),
    LOADGEN_STREAMERS: z.coerce
      .number()
      .int()
      .min(LIMITS.streamers.min)
      .max(LIMITS.streamers.max)
      .default(DEFAULT_SETTINGS.streamers),
    LOADGEN_MIX: mixFromEnv.optional(),
    LOADGEN_MAX_IN_FLIGHT: z.coerce
      .number()
      .int()
      .min(LIMITS.maxInFlight.min)
      .max(LIMITS.maxInFlight.max)
      .default(DEFAULT_SETTINGS.maxInFlight),
    /** Deadline of every HTTP call (for the event stream: of its response headers). */
    LOADGEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** Simulated users are <prefix><n>; the prefix plus three digits must stay a valid handle. */
    LOADGEN_HANDLE_PREFIX: z
      .string()
      .regex(/^[a-z0-9_]{2,12}$/, '2 to 12 characters of a-z, 0-9 and _')
      .default('lg_'),
    /** Password of every simulated user (test accounts; never logged). */
    LOADGEN_PASSWORD: z.string().min(8).max(200).default('loadgen-password'),
    LOADGEN_CLIENT_ID: z.string().min(1).default('chaoscope-cli'),
    /** RFC 8707 resource indicator to ask tokens for, when the authorization server needs one. */
    LOADGEN_RESOURCE: z.url().optional(),
  })
  .refine((c) => c.LOADGEN_STREAMERS <= c.LOADGEN_USERS, {
    message: 'LOADGEN_STREAMERS cannot exceed LOADGEN_USERS (each streamer is one of the users)',
    path: ['LOADGEN_STREAMERS'],
  });

export type LoadgenConfig = z.infer<typeof loadgenConfigSchema>;

export function initialSettings(config: LoadgenConfig): Omit<LoadSettings, 'running'> {
  return {
    ratePerSecond: config.LOADGEN_RATE,
    users: config.LOADGEN_USERS,
    streamers: config.LOADGEN_STREAMERS,
    mix: config.LOADGEN_MIX ?? DEFAULT_MIX,
    maxInFlight: config.LOADGEN_MAX_IN_FLIGHT,
  };
}

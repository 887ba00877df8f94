/**
 * One fault model over every way Chaoscope can break the cluster: containers (or processes), the
 * kit's request faults, auth, and breakers. A fault names what to break (a target selector), how,
 * for how long, and whether to only say what it would do (dry run). The engine turns it into
 * actions on instances and records how to undo each one.
 */
import { z } from 'zod';
import { breakerNameSchema, breakerSettingsSchema, faultSpecSchema, serviceNameSchema } from './schemas.ts';

const durationMs = z
  .number()
  .int()
  .min(1)
  .max(24 * 3600_000);

/**
 * Which instances of a service: one named instance, one at random, a percentage (rounded up, at
 * least one), or all of them.
 */
export const targetSelectorSchema = z
  .object({
    service: serviceNameSchema,
    pick: z.enum(['one', 'random', 'percent', 'all']).default('all'),
    /** With pick "one": which instance (default: the first). */
    instance: z.string().min(1).max(100).optional(),
    /** With pick "percent". */
    percent: z.number().min(1).max(100).optional(),
  })
  .strict()
  .refine((t) => t.pick !== 'percent' || t.percent !== undefined, {
    message: 'pick "percent" needs percent (1-100)',
    path: ['percent'],
  });
export type TargetSelector = z.infer<typeof targetSelectorSchema>;

const containerAction = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('kill'),
      signal: z
        .string()
        .regex(/^SIG[A-Z0-9]+$/)
        .default('SIGKILL'),
    })
    .strict(),
  z
    .object({ action: z.literal('stop'), graceMs: z.number().int().min(0).max(120_000).default(10_000) })
    .strict(),
  z.object({ action: z.literal('pause') }).strict(),
  z.object({ action: z.literal('restart') }).strict(),
  z.object({ action: z.literal('partition') }).strict(),
  z
    .object({
      action: z.literal('limits'),
      cpus: z.number().min(0.01).max(64).optional(),
      memoryMb: z.number().int().min(16).max(65_536).optional(),
    })
    .strict(),
  z.object({ action: z.literal('scale'), replicas: z.number().int().min(0).max(20) }).strict(),
]);

const authAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('revoke-user'), user: z.string().min(1).max(64) }).strict(),
  z.object({ action: z.literal('revoke-token'), token: z.string().min(1).max(8192) }).strict(),
  z.object({ action: z.literal('rotate-keys') }).strict(),
  z.object({ action: z.literal('rotate-secret') }).strict(),
  /**
   * `hold`: auth refuses the service a new certificate until the fault is rolled back, so the
   * fault lasts; without it the instance enrolls again at once (what a healthy service does).
   */
  z.object({ action: z.literal('revoke-certificate'), hold: z.boolean().optional() }).strict(),
  z.object({ action: z.literal('expire-certificate'), hold: z.boolean().optional() }).strict(),
  z.object({ action: z.literal('auth-mode'), mode: z.enum(['mtls', 'jwt-secret', 'oauth']) }).strict(),
]);

const breakerAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('open') }).strict(),
  z.object({ action: z.literal('close') }).strict(),
  z.object({ action: z.literal('reset') }).strict(),
  z.object({ action: z.literal('configure'), settings: breakerSettingsSchema.partial() }).strict(),
]);

const common = {
  /** Undone automatically after this long; without it the fault stays until reset. */
  durationMs: durationMs.optional(),
  /** Say what would happen; change nothing. */
  dryRun: z.boolean().default(false),
  label: z.string().max(200).optional(),
};

export const chaosFaultSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('container'),
      target: targetSelectorSchema,
      change: containerAction,
      ...common,
    })
    .strict(),
  z
    .object({ type: z.literal('request'), target: targetSelectorSchema, fault: faultSpecSchema, ...common })
    .strict(),
  z
    .object({
      type: z.literal('auth'),
      /** Whose certificate (certificate actions); auth itself otherwise. */
      target: targetSelectorSchema.optional(),
      change: authAction,
      ...common,
    })
    .strict(),
  z
    .object({
      type: z.literal('breaker'),
      /** The service that holds the breaker is its caller: gateway:timeline lives in gateway. */
      breaker: breakerNameSchema,
      change: breakerAction,
      ...common,
    })
    .strict(),
]);
export type ChaosFaultInput = z.input<typeof chaosFaultSchema>;
export type ChaosFault = z.output<typeof chaosFaultSchema>;

/** A short human description, for history, markers and reports: "kill timeline (SIGKILL)". */
export function describeFault(fault: ChaosFault): string {
  const who = (t: TargetSelector | undefined) =>
    !t
      ? 'auth'
      : t.pick === 'one'
        ? (t.instance ?? `one ${t.service}`)
        : t.pick === 'random'
          ? `a random ${t.service}`
          : t.pick === 'percent'
            ? `${t.percent}% of ${t.service}`
            : t.service;
  const span = fault.durationMs ? ` for ${formatMs(fault.durationMs)}` : '';
  switch (fault.type) {
    case 'container': {
      const c = fault.change;
      const detail =
        c.action === 'kill'
          ? ` (${c.signal})`
          : c.action === 'scale'
            ? ` to ${c.replicas}`
            : c.action === 'limits'
              ? ` (${[c.cpus && `${c.cpus} CPU`, c.memoryMb && `${c.memoryMb} MB`].filter(Boolean).join(', ')})`
              : '';
      return `${c.action} ${who(fault.target)}${detail}${span}`;
    }
    case 'request': {
      const f = fault.fault;
      const detail =
        f.kind === 'latency'
          ? ` ${f.latencyMs}±${f.jitterMs} ms`
          : f.kind === 'error'
            ? ` ${f.status}`
            : f.kind === 'bandwidth'
              ? ` ${f.bytesPerSecond} B/s`
              : '';
      const share = f.probability < 1 ? ` on ${Math.round(f.probability * 100)}% of requests` : '';
      return `${f.kind}${detail} in ${who(fault.target)}${f.route ? ` ${f.route}` : ''}${share}${span}`;
    }
    case 'auth': {
      const c = fault.change;
      const detail =
        c.action === 'revoke-user' ? ` ${c.user}` : c.action === 'auth-mode' ? ` → ${c.mode}` : '';
      const whose = fault.target ? ` of ${who(fault.target)}` : '';
      return `${c.action}${detail}${whose}${span}`;
    }
    case 'breaker':
      return `breaker ${fault.breaker} ${fault.change.action}${span}`;
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  return `${+(ms / 3600_000).toFixed(1)} h`;
}

export const FAULT_STATES = ['active', 'completed', 'rolled-back', 'failed', 'dry-run'] as const;
export type FaultState = (typeof FAULT_STATES)[number];

/** One fault as the chaos engine keeps it: what, where, when, and how it ended. */
export const faultRecordSchema = z.object({
  id: z.string(),
  fault: chaosFaultSchema,
  description: z.string(),
  /** What it does (or, in a dry run, would do), one line per step. */
  plan: z.array(z.string()),
  services: z.array(serviceNameSchema),
  instances: z.array(z.string()),
  startedAt: z.string(),
  expiresAt: z.string().nullable(),
  state: z.enum(FAULT_STATES),
  endedAt: z.string().nullable(),
  /** Why it ended: expired, reset, rolled back by request, recovered after a restart, an error. */
  endReason: z.string().nullable(),
  error: z.string().nullable(),
  /** Undo steps that failed; the fault stays listed as failed with these. */
  undoErrors: z.array(z.string()),
  /** Set when a schedule or an experiment started the fault. */
  origin: z.string().nullable(),
});
export type FaultRecordInfo = z.infer<typeof faultRecordSchema>;

/** A fault's start and end, for every chart and trace view. */
export const chaosMarkerSchema = z.object({
  at: z.string(),
  phase: z.enum(['applied', 'rolled-back', 'failed']),
  faultId: z.string(),
  description: z.string(),
  services: z.array(serviceNameSchema),
  reason: z.string().optional(),
});
export type ChaosMarkerInfo = z.infer<typeof chaosMarkerSchema>;

/**
 * What the control plane pushes: topic → payload schema. Events travel in batches (`EventBatch`)
 * about every 250 ms, so a busy cluster costs a client a few messages a second, not one per
 * change. Within a batch, "state" topics (the latest value is all that matters: cluster status,
 * breaker snapshots, collector stats) appear at most once; "happening" topics (a transition, a
 * fault added, a log line) appear in order, every one, up to a cap per batch (`dropped` counts
 * what did not fit).
 *
 * A new subscriber first gets one batch with the current value of every state topic, so a client
 * never has to ask and listen at the same time.
 */
import { z } from 'zod';
import {
  breakerInfoSchema,
  breakerStateSchema,
  clusterStatusSchema,
  collectorStatsSchema,
  faultInfoSchema,
  instanceHealthSchema,
  instanceStateSchema,
  progressEventSchema,
  serviceNameSchema,
} from './schemas.ts';
import { AUTH_EVENTS } from './auth-commands.ts';
import { CHAOS_EVENTS } from './chaos-commands.ts';
import { EXPERIMENT_EVENTS } from './experiment-commands.ts';
import { INSIGHT_EVENTS } from './insight-commands.ts';

export const EVENTS = {
  /** The whole cluster whenever any instance's state or health changed; null when none runs. */
  'cluster.status': z.object({ status: clusterStatusSchema.nullable() }),
  /** Start-up progress of `cluster.up` (and of `service.start`/`restart`). */
  'cluster.progress': progressEventSchema,
  /** One instance changed state or health (a kill, a crash, a restart, a pause). */
  'service.state': z.object({
    service: serviceNameSchema,
    instanceId: z.string(),
    from: z.object({ state: instanceStateSchema, health: instanceHealthSchema }).nullable(),
    to: z.object({ state: instanceStateSchema, health: instanceHealthSchema }),
    at: z.string(),
    /** What happened when the control plane itself did it: "killed with SIGKILL", "paused for 10 s". */
    reason: z.string().optional(),
  }),
  /** A breaker changed state (seen in its service's admin API). */
  'breaker.transition': z.object({
    service: serviceNameSchema,
    instanceId: z.string(),
    breaker: z.string(),
    from: breakerStateSchema,
    to: breakerStateSchema,
    at: z.string(),
    reason: z.string(),
  }),
  /** Every breaker with its rolling counts, about once a second while someone listens. */
  'breaker.snapshot': z.object({ breakers: z.array(breakerInfoSchema) }),
  /** A fault was injected, removed, expired (its duration ran out) or rolled back by a reset. */
  'fault.changed': z.object({
    change: z.enum(['injected', 'removed', 'expired', 'reset']),
    fault: faultInfoSchema,
  }),
  'collector.stats': collectorStatsSchema,
  /** Auth happenings (revocations, key rotations, 401/403 bursts); filled by the trust work. */
  'auth.event': z.object({
    kind: z.string(),
    at: z.string(),
    service: z.string().optional(),
    message: z.string(),
    attributes: z.record(z.string(), z.json()).optional(),
  }),
  /** A line a service wrote to its log. */
  'log.line': z.object({
    service: serviceNameSchema,
    instanceId: z.string(),
    line: z.string(),
    at: z.string(),
  }),
  /** Something the user should know about the control plane itself. */
  'control.notice': z.object({
    level: z.enum(['info', 'warning', 'error']),
    message: z.string(),
    at: z.string(),
  }),
  ...CHAOS_EVENTS,
  ...AUTH_EVENTS,
  ...EXPERIMENT_EVENTS,
  ...INSIGHT_EVENTS,
} as const satisfies Record<string, z.ZodType>;

export type Events = typeof EVENTS;
export type EventTopic = keyof Events;
export type EventPayload<T extends EventTopic> = z.infer<Events[T]>;
export const EVENT_TOPICS = Object.keys(EVENTS) as EventTopic[];

/** Topics where only the latest value counts: coalesced within a batch, replayed to newcomers. */
export const STATE_TOPICS = [
  'cluster.status',
  'breaker.snapshot',
  'collector.stats',
] as const satisfies readonly EventTopic[];

export function isStateTopic(topic: EventTopic): boolean {
  return (STATE_TOPICS as readonly string[]).includes(topic);
}

/** One event: `{topic, data}`, data checked against its topic's schema. */
export const eventSchema = z.discriminatedUnion(
  'topic',
  EVENT_TOPICS.map((topic) => z.object({ topic: z.literal(topic), data: EVENTS[topic] })) as unknown as [
    z.ZodObject<{ topic: z.ZodLiteral<EventTopic>; data: z.ZodType }>,
    ...z.ZodObject<{ topic: z.ZodLiteral<EventTopic>; data: z.ZodType }>[],
  ],
);
export type ApiEvent = { [T in EventTopic]: { topic: T; data: EventPayload<T> } }[EventTopic];

/** Events at most per batch of happenings; the rest are counted in `dropped`. */
export const MAX_EVENTS_PER_BATCH = 2_000;

export const eventBatchSchema = z.object({
  /** Per subscriber, from 1, without gaps: a gap means batches were lost (a slow client). */
  seq: z.number().int().positive(),
  /** When the batch was sent, ISO 8601. */
  at: z.string(),
  events: z.array(eventSchema),
  /** Happenings left out since the previous batch (cap reached, or the client fell behind). */
  dropped: z.number().int().nonnegative().default(0),
});
export type EventBatch = { seq: number; at: string; events: ApiEvent[]; dropped: number };

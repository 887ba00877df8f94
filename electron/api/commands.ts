/**
 * Every command a client can send the control plane: name → input and output schemas. IPC, web
 * mode and the CLI all carry exactly these; the control plane validates the input before its
 * handler runs and the output before it answers, and the client validates the output again.
 *
 * How to add a command: its schemas here → a handler in electron/control/handlers → (nothing to do
 * in the transports: they carry every command) → a method appears on the typed client → a test.
 */
import { z } from 'zod';
import {
  appSettingsPatchSchema,
  appSettingsSchema,
  breakerActionSchema,
  breakerInfoSchema,
  breakerNameSchema,
  breakerSettingsSchema,
  breakerTimelineSchema,
  clusterStatusSchema,
  collectorStatsSchema,
  criticalPathSchema,
  downResultSchema,
  faultInfoSchema,
  faultSpecSchema,
  loadSettingsPatchSchema,
  loadStateSchema,
  redSeriesSchema,
  runtimeChoiceSchema,
  runtimeKindSchema,
  serviceGraphSchema,
  serviceNameSchema,
  serviceStatusSchema,
  spanIdSchema,
  traceComparisonSchema,
  traceIdSchema,
  traceSchema,
  traceSummarySchema,
} from './schemas.ts';
import { AUTH_COMMANDS } from './auth-commands.ts';
import { CHAOS_COMMANDS } from './chaos-commands.ts';
import { EXPERIMENT_COMMANDS } from './experiment-commands.ts';
import { INSIGHT_COMMANDS } from './insight-commands.ts';

const empty = z.object({}).strict().default({});
const instanceId = z.string().min(1).max(100);
/** Signals by name (SIGKILL, SIGTERM, SIGSTOP…); numbers differ between systems. */
const signalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGKILL or SIGTERM');
/** A time window in Unix ms; both default (to = now, from = to minus 15 minutes). */
const window = {
  from: z.number().finite().optional(),
  to: z.number().finite().optional(),
};

export const COMMANDS = {
  // --- the cluster ---------------------------------------------------------------------------
  /**
   * Start the cluster (or return the healthy one already there, `adopted: true`). Progress comes
   * as `cluster.progress` events while it runs.
   */
  'cluster.up': {
    input: z
      .object({
        runtime: runtimeChoiceSchema.optional(),
        /** Start the load generator too. Default: the `loadgen` setting. */
        loadgen: z.boolean().optional(),
        /** Start only these (plus what they depend on). Default: every service but loadgen. */
        services: z.array(serviceNameSchema).min(1).optional(),
        gatewayPort: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .default({}),
    output: clusterStatusSchema.extend({ adopted: z.boolean() }),
  },
  'cluster.down': {
    input: z
      .object({ volumes: z.boolean().default(false) })
      .strict()
      .default({ volumes: false }),
    output: downResultSchema,
  },
  /** NO_CLUSTER when there is none. */
  'cluster.status': { input: empty, output: clusterStatusSchema },

  // --- services ------------------------------------------------------------------------------
  /** Signal a service's instances (SIGKILL by default); nothing restarts them. */
  'service.kill': {
    input: z
      .object({
        service: serviceNameSchema,
        signal: signalName.default('SIGKILL'),
        instanceId: instanceId.optional(),
      })
      .strict(),
    output: serviceStatusSchema,
  },
  'service.restart': {
    input: z.object({ service: serviceNameSchema, instanceId: instanceId.optional() }).strict(),
    output: serviceStatusSchema,
  },
  'service.start': {
    input: z.object({ service: serviceNameSchema }).strict(),
    output: serviceStatusSchema,
  },
  /** Freeze a service (SIGSTOP on the process runtime) and thaw it after `durationMs`. */
  'service.pause': {
    input: z
      .object({
        service: serviceNameSchema,
        durationMs: z.number().int().min(100).max(3_600_000).default(10_000),
        instanceId: instanceId.optional(),
      })
      .strict(),
    output: z.object({ service: serviceStatusSchema, resumesAt: z.string() }),
  },
  /** Thaw a paused service now. */
  'service.resume': {
    input: z.object({ service: serviceNameSchema }).strict(),
    output: serviceStatusSchema,
  },
  /** Cut a service off the network (Docker runtimes); UNSUPPORTED on the process runtime. */
  'service.partition': {
    input: z
      .object({
        service: serviceNameSchema,
        durationMs: z.number().int().min(100).max(3_600_000).default(30_000),
      })
      .strict(),
    output: z.object({ service: serviceStatusSchema, healsAt: z.string() }),
  },
  /** The last lines of a service's logs, per instance. */
  'service.logs': {
    input: z
      .object({ service: serviceNameSchema, lines: z.number().int().min(1).max(5_000).default(200) })
      .strict(),
    output: z.object({
      service: serviceNameSchema,
      instances: z.array(z.object({ instanceId: z.string(), lines: z.array(z.string()) })),
    }),
  },

  // --- breakers ------------------------------------------------------------------------------
  /** Every breaker of every running service (or of one). */
  'breakers.list': {
    input: z.object({ service: serviceNameSchema.optional() }).strict().default({}),
    output: z.object({
      breakers: z.array(breakerInfoSchema),
      /** Instances whose admin routes did not answer (down, paused). */
      unreachable: z.array(z.object({ instanceId: z.string(), reason: z.string() })),
    }),
  },
  /** Force open (trip), force closed, or reset to automatic. */
  'breakers.act': {
    input: z.object({ breaker: breakerNameSchema, action: breakerActionSchema }).strict(),
    output: z.object({ breakers: z.array(breakerInfoSchema) }),
  },
  'breakers.configure': {
    input: z.object({ breaker: breakerNameSchema, settings: breakerSettingsSchema.partial() }).strict(),
    output: z.object({ breakers: z.array(breakerInfoSchema) }),
  },

  // --- faults --------------------------------------------------------------------------------
  'faults.list': {
    input: z.object({ service: serviceNameSchema.optional() }).strict().default({}),
    output: z.object({
      faults: z.array(faultInfoSchema),
      unreachable: z.array(z.object({ instanceId: z.string(), reason: z.string() })),
    }),
  },
  /**
   * Inject faults into a service's request handling (every instance, or one). With `dryRun`, the
   * faults are validated and the targets resolved, and nothing is injected.
   */
  'faults.inject': {
    input: z
      .object({
        service: serviceNameSchema,
        instanceId: instanceId.optional(),
        faults: z.array(faultSpecSchema).min(1).max(10),
        dryRun: z.boolean().default(false),
      })
      .strict(),
    output: z.object({
      injected: z.array(faultInfoSchema),
      dryRun: z.boolean(),
      targets: z.array(z.string()),
    }),
  },
  'faults.remove': {
    input: z.object({ service: serviceNameSchema, id: z.string().min(1).max(100) }).strict(),
    output: z.object({ removed: z.boolean() }),
  },
  /** Roll back every fault (of one service, or all); works whatever state the app was in. */
  'faults.reset': {
    input: z.object({ service: serviceNameSchema.optional() }).strict().default({}),
    output: z.object({
      removed: z.number().int(),
      instances: z.array(z.object({ instanceId: z.string(), removed: z.number().int() })),
      unreachable: z.array(z.object({ instanceId: z.string(), reason: z.string() })),
    }),
  },

  // --- traces --------------------------------------------------------------------------------
  'traces.search': {
    input: z
      .object({
        service: z.string().min(1).optional(),
        operation: z.string().min(1).optional(),
        status: z.enum(['error', 'ok', 'unset']).optional(),
        minDurationMs: z.number().nonnegative().optional(),
        maxDurationMs: z.number().nonnegative().optional(),
        attributes: z.record(z.string().min(1), z.string()).optional(),
        ...window,
        limit: z.number().int().min(1).max(1000).default(20),
        sort: z.enum(['newest', 'oldest', 'longest', 'shortest']).default('newest'),
      })
      .strict()
      .default({ limit: 20, sort: 'newest' }),
    output: z.object({ traces: z.array(traceSummarySchema) }),
  },
  /** The whole trace; NOT_FOUND when no span of it is stored. */
  'traces.get': { input: z.object({ traceId: traceIdSchema }).strict(), output: traceSchema },
  'traces.compare': {
    input: z.object({ a: traceIdSchema, b: traceIdSchema }).strict(),
    output: traceComparisonSchema,
  },
  'traces.export': {
    input: z.object({ traceId: traceIdSchema, format: z.literal('otlp-json').default('otlp-json') }).strict(),
    output: z.object({ traceId: z.string(), format: z.literal('otlp-json'), data: z.json() }),
  },

  // --- telemetry aggregates ------------------------------------------------------------------
  'telemetry.graph': {
    input: z.object(window).strict().default({}),
    output: serviceGraphSchema,
  },
  /** RED of a service over time (or one series per route with `byRoute`). */
  'telemetry.red': {
    input: z
      .object({
        service: z.string().min(1),
        route: z.string().min(1).optional(),
        byRoute: z.boolean().default(false),
        ...window,
        stepMs: z.number().int().min(100).max(86_400_000).default(10_000),
      })
      .strict(),
    output: z.object({ series: z.array(redSeriesSchema) }),
  },
  'telemetry.breakerTimeline': {
    input: z.object(window).strict().default({}),
    output: breakerTimelineSchema,
  },
  'telemetry.criticalPath': {
    input: z.object({ traceId: traceIdSchema, rootSpanId: spanIdSchema.optional() }).strict(),
    output: criticalPathSchema,
  },
  'collector.stats': { input: empty, output: collectorStatsSchema },

  // --- load ----------------------------------------------------------------------------------
  /** The loadgen's settings and client-side stats; CONFLICT when loadgen is not running. */
  'load.get': { input: empty, output: loadStateSchema },
  'load.set': { input: loadSettingsPatchSchema, output: loadStateSchema },

  // --- settings and the system ---------------------------------------------------------------
  'settings.get': { input: empty, output: appSettingsSchema },
  /** Persisted at once; ports and the exporter apply at the next start of what they concern. */
  'settings.set': {
    input: appSettingsPatchSchema,
    output: z.object({ settings: appSettingsSchema, appliesOnRestart: z.array(z.string()) }),
  },
  'system.info': {
    input: empty,
    output: z.object({
      apiVersion: z.number().int(),
      version: z.string(),
      node: z.string(),
      platform: z.string(),
      pid: z.number().int(),
      startedAt: z.string(),
      home: z.string(),
      runtimes: z.object({ default: runtimeKindSchema, available: z.array(runtimeKindSchema) }),
      /** The running cluster's runtime, null when none runs. */
      clusterRuntime: runtimeKindSchema.nullable(),
      urls: z.object({
        /** OTLP/HTTP base URL. */
        collector: z.string(),
        jaeger: z.string(),
        gateway: z.string().nullable(),
        /** The web dashboard, without its token; null when web mode is off. */
        dashboard: z.string().nullable(),
      }),
      /** Things worth telling the user once (a port that was busy, faults rolled back at start). */
      notices: z.array(z.string()),
    }),
  },
  /**
   * Stop the control plane (after answering); with `stopCluster`, take the cluster down first.
   * Faults are rolled back and paused services thawed either way.
   */
  'system.shutdown': {
    input: z
      .object({ stopCluster: z.boolean().default(false) })
      .strict()
      .default({ stopCluster: false }),
    output: z.object({ stopping: z.literal(true) }),
  },

  ...CHAOS_COMMANDS,
  ...AUTH_COMMANDS,
  ...EXPERIMENT_COMMANDS,
  ...INSIGHT_COMMANDS,
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export type Commands = typeof COMMANDS;
export type CommandName = keyof Commands;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** What a caller passes (defaults may be left out). */
export type CommandInput<K extends CommandName> = z.input<Commands[K]['input']>;
/** What a handler receives (defaults filled in). */
export type CommandArgs<K extends CommandName> = z.output<Commands[K]['input']>;
export type CommandOutput<K extends CommandName> = z.output<Commands[K]['output']>;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

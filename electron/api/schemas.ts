/**
 * The shapes that cross the API: cluster and service status, breakers, faults, traces, telemetry
 * aggregates, load and settings. They mirror the runtime, the service kit and telemetry/query,
 * which the contract may not import (it runs in a browser and depends on nothing of the app);
 * electron/control/contract-drift.spec.ts checks that the copies stay in step.
 *
 * Conventions: times are Unix milliseconds (numbers, microsecond fractions allowed) or ISO 8601
 * strings where the source keeps them so; durations are milliseconds. Nanosecond bigints never
 * cross (JSON has no bigint).
 */
import { z } from 'zod';

// --- cluster ---------------------------------------------------------------------------------

export const SERVICE_NAMES = [
  'registry',
  'auth',
  'users',
  'tweets',
  'timeline',
  'realtime',
  'gateway',
  'loadgen',
] as const;
export const serviceNameSchema = z.enum(SERVICE_NAMES, {
  error: (issue) => `unknown service "${String(issue.input)}"; valid: ${SERVICE_NAMES.join(', ')}`,
});
export type ServiceName = z.infer<typeof serviceNameSchema>;

export const RUNTIME_KINDS = ['process', 'docker', 'swarm'] as const;
export const runtimeKindSchema = z.enum(RUNTIME_KINDS);
export type RuntimeKind = z.infer<typeof runtimeKindSchema>;
export const runtimeChoiceSchema = z.enum(['auto', ...RUNTIME_KINDS]);
export type RuntimeChoice = z.infer<typeof runtimeChoiceSchema>;

export const instanceStateSchema = z.enum(['starting', 'running', 'exited', 'killed', 'stopped']);
export const instanceHealthSchema = z.enum(['healthy', 'unhealthy', 'unknown']);

export const instanceStatusSchema = z.object({
  /** Stable across restarts, e.g. `timeline-1`. */
  id: z.string(),
  state: instanceStateSchema,
  health: instanceHealthSchema,
  /** host:port reachable from this machine. */
  address: z.string(),
  startedAt: z.string().optional(),
  pid: z.number().int().optional(),
  /** Container runtimes only. */
  containerId: z.string().optional(),
  /** Frozen by a pause (it does not answer until thawed). */
  paused: z.boolean().optional(),
  /** Cut off from the cluster network by a partition. */
  partitioned: z.boolean().optional(),
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
  /** Paused by `service.pause` until this time (ISO 8601). */
  pausedUntil: z.string().optional(),
});
export type InstanceStatus = z.infer<typeof instanceStatusSchema>;

export const serviceStatusSchema = z.object({
  name: serviceNameSchema,
  instances: z.array(instanceStatusSchema),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const clusterStatusSchema = z.object({
  clusterId: z.string(),
  runtime: runtimeKindSchema,
  createdAt: z.string(),
  /** The gateway's public URL. */
  gateway: z.string(),
  /** The collector's OTLP/HTTP base URL the services export to. */
  collector: z.string(),
  /** Services in start order. */
  services: z.array(serviceStatusSchema),
  /** Where the services' logs are (a directory for the process runtime). */
  logs: z.string().optional(),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const progressEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('service-starting'),
    elapsedMs: z.number(),
    service: serviceNameSchema,
    instanceId: z.string(),
    address: z.string(),
  }),
  z.object({
    type: z.literal('service-healthy'),
    elapsedMs: z.number(),
    service: serviceNameSchema,
    instanceId: z.string(),
    address: z.string(),
  }),
  z.object({
    type: z.literal('service-failed'),
    elapsedMs: z.number(),
    service: serviceNameSchema,
    instanceId: z.string(),
    reason: z.string(),
  }),
  /** Container runtimes: one event per image build step (total 0: the image was cached). */
  z.object({
    type: z.literal('image-build'),
    elapsedMs: z.number(),
    image: z.string(),
    step: z.number().int(),
    total: z.number().int(),
    message: z.string(),
  }),
  z.object({ type: z.literal('note'), elapsedMs: z.number(), message: z.string() }),
]);
export type ProgressEvent = z.infer<typeof progressEventSchema>;

export const downResultSchema = z.object({
  clusterId: z.string().nullable(),
  stopped: z.array(z.string()),
  volumesRemoved: z.boolean(),
});
export type DownResult = z.infer<typeof downResultSchema>;

// --- breakers (sample-cluster/kit/breaker.ts) ------------------------------------------------

export const BREAKER_STATES = ['closed', 'open', 'half-open', 'forced-open', 'forced-closed'] as const;
export const breakerStateSchema = z.enum(BREAKER_STATES);
export type BreakerState = z.infer<typeof breakerStateSchema>;

/** `caller:callee`, e.g. `gateway:timeline`. */
export const breakerNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, 'a breaker is named caller:callee, e.g. gateway:timeline');

export const breakerSettingsSchema = z
  .object({
    timeoutMs: z.number().int().min(10).max(120_000),
    errorThresholdPercentage: z.number().min(1).max(100),
    volumeThreshold: z.number().int().min(0).max(10_000),
    resetTimeoutMs: z.number().int().min(100).max(600_000),
    capacity: z.number().int().min(1).max(100_000),
    consecutiveFailures: z.number().int().min(1).max(10_000),
  })
  .strict();
export type BreakerSettings = z.infer<typeof breakerSettingsSchema>;

export const breakerTransitionSchema = z.object({
  breaker: z.string(),
  from: breakerStateSchema,
  to: breakerStateSchema,
  at: z.string(),
  reason: z.string(),
});
export type BreakerTransition = z.infer<typeof breakerTransitionSchema>;

export const breakerSnapshotSchema = z.object({
  name: z.string(),
  caller: z.string(),
  callee: z.string(),
  state: breakerStateSchema,
  settings: breakerSettingsSchema,
  rollingWindowMs: z.number(),
  counts: z.object({
    requests: z.number(),
    success: z.number(),
    failure: z.number(),
    timeout: z.number(),
    shortCircuited: z.number(),
    rejected: z.number(),
    fallback: z.number(),
  }),
  errorPercentage: z.number(),
  ratePerSecond: z.number(),
  latencyMs: z.object({
    mean: z.number(),
    p50: z.number(),
    p90: z.number(),
    p99: z.number(),
    p995: z.number(),
    max: z.number(),
  }),
  transitions: z.array(breakerTransitionSchema),
});
export type BreakerSnapshot = z.infer<typeof breakerSnapshotSchema>;

/** A breaker as the API shows it: the kit's snapshot plus the instance it lives in. */
export const breakerInfoSchema = breakerSnapshotSchema.extend({
  service: serviceNameSchema,
  instanceId: z.string(),
});
export type BreakerInfo = z.infer<typeof breakerInfoSchema>;

export const BREAKER_ACTIONS = ['open', 'close', 'reset'] as const;
export const breakerActionSchema = z.enum(BREAKER_ACTIONS);
export type BreakerAction = z.infer<typeof breakerActionSchema>;

// --- faults (sample-cluster/kit/faults.ts) ---------------------------------------------------

const faultTarget = {
  /** Chance that a matching request gets the fault, 0..1. */
  probability: z.number().min(0).max(1).default(1),
  /** Path prefix, e.g. "/v1/timelines"; every route when absent. */
  route: z.string().startsWith('/').max(300).optional(),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']).optional(),
  /** Only requests from this calling service. */
  caller: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .max(50)
    .optional(),
  /** Rolled back automatically after this long. */
  durationMs: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600_000)
    .optional(),
  label: z.string().max(200).optional(),
};

export const faultSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('latency'),
      latencyMs: z.number().int().min(0).max(120_000),
      jitterMs: z.number().int().min(0).max(120_000).default(0),
      ...faultTarget,
    })
    .strict(),
  z
    .object({
      kind: z.literal('error'),
      status: z.number().int().min(400).max(599).default(503),
      ...faultTarget,
    })
    .strict(),
  z.object({ kind: z.literal('abort'), ...faultTarget }).strict(),
  z
    .object({
      kind: z.literal('hang'),
      maxMs: z.number().int().min(1).max(600_000).default(120_000),
      ...faultTarget,
    })
    .strict(),
  z
    .object({
      kind: z.literal('bandwidth'),
      bytesPerSecond: z.number().int().min(64).max(1e9),
      ...faultTarget,
    })
    .strict(),
]);
/** What a caller writes (defaults may be left out). */
export type FaultSpecInput = z.input<typeof faultSpecSchema>;
export type FaultSpec = z.output<typeof faultSpecSchema>;
export const FAULT_KINDS = ['latency', 'error', 'abort', 'hang', 'bandwidth'] as const;

/** An active fault as a service's admin API lists it, plus where it is. */
export const faultInfoSchema = z.looseObject({
  id: z.string(),
  kind: z.enum(FAULT_KINDS),
  service: serviceNameSchema,
  instanceId: z.string(),
  probability: z.number(),
  route: z.string().optional(),
  method: z.string().optional(),
  caller: z.string().optional(),
  durationMs: z.number().optional(),
  label: z.string().optional(),
  latencyMs: z.number().optional(),
  jitterMs: z.number().optional(),
  status: z.number().optional(),
  maxMs: z.number().optional(),
  bytesPerSecond: z.number().optional(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  /** Requests it has been applied to so far. */
  applied: z.number(),
});
export type FaultInfo = z.infer<typeof faultInfoSchema>;

// --- traces (telemetry/query) ----------------------------------------------------------------

export const traceIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters')
  .transform((s) => s.toLowerCase());

export const spanIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'a span id is 16 hex characters');

/** Attribute values as JSON carries them. */
export const attributesSchema = z.record(z.string(), z.json());
export type Attributes = z.infer<typeof attributesSchema>;

export const traceSummarySchema = z.object({
  traceId: z.string(),
  rootService: z.string(),
  rootName: z.string(),
  /** Unix ms. */
  start: z.number(),
  /** ms. */
  duration: z.number(),
  spanCount: z.number().int(),
  errorCount: z.number().int(),
  services: z.array(z.string()),
});
export type TraceSummary = z.infer<typeof traceSummarySchema>;

export const spanStatusSchema = z.enum(['unset', 'ok', 'error']);
export const spanKindSchema = z.enum(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);

export const spanSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentId: z.string().nullable(),
  service: z.string(),
  instance: z.string().nullable(),
  name: z.string(),
  kind: spanKindSchema,
  /** Unix ms as recorded (raw clock of the producing process). */
  start: z.number(),
  /** ms. */
  duration: z.number(),
  status: spanStatusSchema,
  statusMessage: z.string().nullable(),
  attributes: attributesSchema,
  resource: attributesSchema,
  events: z.array(z.object({ time: z.number(), name: z.string(), attributes: attributesSchema })),
  links: z.array(z.object({ traceId: z.string(), spanId: z.string(), attributes: attributesSchema })),
  /** Depth in the tree (roots 0); spans come in waterfall order (depth first, by start). */
  depth: z.number().int(),
  /** Its parent is not in the trace (not received, or evicted); shown as a root. */
  orphan: z.boolean(),
  /** How far the span was shifted for display to sit inside its parent (clock skew), ms. */
  skew: z.number(),
});
export type Span = z.infer<typeof spanSchema>;

export const traceSchema = z.object({
  traceId: z.string(),
  /** Unix ms. */
  start: z.number(),
  duration: z.number(),
  services: z.array(z.string()),
  errorCount: z.number().int(),
  orphanCount: z.number().int(),
  skewAdjustedCount: z.number().int(),
  duplicateCount: z.number().int(),
  /** Waterfall order. */
  spans: z.array(spanSchema),
});
export type Trace = z.infer<typeof traceSchema>;

const comparedSpan = z.object({
  key: z.string(),
  service: z.string(),
  name: z.string(),
  spanId: z.string(),
  duration: z.number(),
});
export const traceComparisonSchema = z.object({
  traceIdA: z.string(),
  traceIdB: z.string(),
  durationA: z.number(),
  durationB: z.number(),
  /** B minus A, ms: positive means B was slower. */
  durationDelta: z.number(),
  matched: z.array(
    z.object({
      key: z.string(),
      service: z.string(),
      name: z.string(),
      spanIdA: z.string(),
      spanIdB: z.string(),
      durationA: z.number(),
      durationB: z.number(),
      delta: z.number(),
      statusA: spanStatusSchema,
      statusB: spanStatusSchema,
    }),
  ),
  added: z.array(comparedSpan),
  removed: z.array(comparedSpan),
});
export type TraceComparison = z.infer<typeof traceComparisonSchema>;

export const criticalPathSchema = z.object({
  traceId: z.string(),
  rootSpanId: z.string(),
  segments: z.array(
    z.object({
      spanId: z.string(),
      service: z.string(),
      name: z.string(),
      start: z.number(),
      end: z.number(),
      duration: z.number(),
    }),
  ),
  bySpan: z.array(
    z.object({ spanId: z.string(), service: z.string(), name: z.string(), duration: z.number() }),
  ),
});
export type CriticalPath = z.infer<typeof criticalPathSchema>;

// --- telemetry aggregates --------------------------------------------------------------------

export const serviceGraphSchema = z.object({
  from: z.number(),
  to: z.number(),
  services: z.array(z.string()),
  edges: z.array(
    z.object({
      client: z.string(),
      server: z.string(),
      requests: z.number(),
      ratePerSecond: z.number(),
      errors: z.number(),
      errorPercent: z.number(),
      latencyMs: z.object({ p50: z.number(), p95: z.number(), p99: z.number() }),
      unanswered: z.number(),
    }),
  ),
});
export type ServiceGraph = z.infer<typeof serviceGraphSchema>;

export const redSeriesSchema = z.object({
  service: z.string(),
  route: z.string().nullable(),
  stepMs: z.number(),
  points: z.array(
    z.object({
      time: z.number(),
      requests: z.number(),
      ratePerSecond: z.number(),
      errors: z.number(),
      errorPercent: z.number(),
      durationMs: z.object({ p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number() }).nullable(),
    }),
  ),
});
export type RedSeries = z.infer<typeof redSeriesSchema>;

export const breakerTimelineSchema = z.object({
  from: z.number(),
  to: z.number(),
  transitions: z.array(
    z.object({
      time: z.number(),
      service: z.string(),
      instance: z.string().nullable(),
      breaker: z.string(),
      from: z.string(),
      to: z.string(),
      reason: z.string().nullable(),
      source: z.enum(['span-event', 'log']),
      traceId: z.string().nullable(),
      spanId: z.string().nullable(),
    }),
  ),
  circuits: z.array(
    z.object({
      service: z.string(),
      breaker: z.string(),
      initialState: z.string().nullable(),
      finalState: z.string().nullable(),
      transitions: z.number(),
      opened: z.number(),
      timeInStateMs: z.record(z.string(), z.number()),
      lastTransition: z.number().nullable(),
    }),
  ),
});
export type BreakerTimeline = z.infer<typeof breakerTimelineSchema>;

const itemCounts = z.object({
  received: z.number(),
  stored: z.number(),
  refused: z.number(),
  dropped: z.number(),
});
export const collectorStatsSchema = z.object({
  otlpUrl: z.string(),
  jaegerUrl: z.string(),
  /** Spans stored per second over the last few seconds. */
  spansPerSecond: z.number(),
  totals: z.object({ spans: itemCounts, dataPoints: itemCounts, logRecords: itemCounts }),
  services: z.record(
    z.string(),
    z.object({
      spans: itemCounts,
      dataPoints: itemCounts,
      logRecords: itemCounts,
      /** Unix ms of the last item received from it; null before any. */
      lastSeen: z.number().nullable(),
    }),
  ),
  throttledRequests: z.number(),
  inFlightRequests: z.number(),
  store: z.object({
    path: z.string(),
    rows: z.object({ spans: z.number(), metricPoints: z.number(), logRecords: z.number() }),
    bytesUsed: z.number(),
    evicted: z.number(),
    pendingRows: z.number(),
  }),
});
export type CollectorStatsView = z.infer<typeof collectorStatsSchema>;

// --- load (sample-cluster/services/loadgen) --------------------------------------------------

const weight = z.number().finite().min(0).max(1_000);
export const loadMixSchema = z
  .object({ post: weight, timeline: weight, profile: weight, follow: weight })
  .strict();
export const loadSettingsSchema = z
  .object({
    running: z.boolean(),
    ratePerSecond: z.number().finite().min(0).max(500),
    users: z.number().int().min(1).max(500),
    streamers: z.number().int().min(0).max(100),
    mix: loadMixSchema,
    maxInFlight: z.number().int().min(1).max(1_000),
  })
  .strict();
export type LoadSettings = z.infer<typeof loadSettingsSchema>;
export const loadSettingsPatchSchema = loadSettingsSchema
  .extend({ mix: loadMixSchema.partial() })
  .partial()
  .strict();
export type LoadSettingsPatch = z.infer<typeof loadSettingsPatchSchema>;

const latencySummary = z.object({
  windowSeconds: z.number(),
  count: z.number(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
  max: z.number().nullable(),
});
/** The loadgen's client-side view; loose so the loadgen may add figures without a version bump. */
export const loadStatsSchema = z.looseObject({
  running: z.boolean(),
  inFlight: z.number(),
  since: z.string(),
  operations: z.record(
    z.string(),
    z.looseObject({
      ok: z.number(),
      errors: z.record(z.string(), z.number()),
      byStatus: z.record(z.string(), z.number()),
      degraded: z.number(),
      retries: z.number(),
      latencyMs: latencySummary,
    }),
  ),
  recentErrors: z.array(z.looseObject({ at: z.string(), operation: z.string(), detail: z.string() })),
});
export type LoadStats = z.infer<typeof loadStatsSchema>;
export const loadStateSchema = z.object({ settings: loadSettingsSchema, stats: loadStatsSchema });
export type LoadState = z.infer<typeof loadStateSchema>;

// --- settings (persisted by the control plane) ------------------------------------------------

const port = z.number().int().min(1).max(65535);
export const appSettingsSchema = z
  .object({
    /** Runtime `up` uses when none is named. */
    runtime: runtimeChoiceSchema.default('auto'),
    /** Preferred gateway port; the next free one when busy. */
    gatewayPort: port.default(8080),
    /** Preferred collector ports (OTLP/HTTP, Jaeger Thrift); the next free ones when busy. */
    otlpPort: port.default(4318),
    jaegerPort: port.default(14268),
    /** What the services export with. */
    exporter: z.enum(['otlp-proto', 'otlp-json', 'jaeger']).default('otlp-proto'),
    /** Start the load generator with the cluster. */
    loadgen: z.boolean().default(false),
    retention: z
      .object({
        maxAgeHours: z
          .number()
          .positive()
          .max(24 * 365)
          .default(24),
        maxMegabytes: z.number().int().min(16).max(1_000_000).default(2_048),
      })
      .strict()
      .default({ maxAgeHours: 24, maxMegabytes: 2_048 }),
    theme: z.enum(['system', 'light', 'dark']).default('system'),
  })
  .strict();
export type AppSettings = z.output<typeof appSettingsSchema>;
export const appSettingsPatchSchema = z
  .object({
    runtime: runtimeChoiceSchema,
    gatewayPort: port,
    otlpPort: port,
    jaegerPort: port,
    exporter: z.enum(['otlp-proto', 'otlp-json', 'jaeger']),
    loadgen: z.boolean(),
    retention: z
      .object({
        maxAgeHours: z
          .number()
          .positive()
          .max(24 * 365),
        maxMegabytes: z.number().int().min(16).max(1_000_000),
      })
      .strict()
      .partial(),
    theme: z.enum(['system', 'light', 'dark']),
  })
  .strict()
  .partial();
export type AppSettingsPatch = z.infer<typeof appSettingsPatchSchema>;

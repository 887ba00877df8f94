/**
 * The experiment format (JSON or YAML; reference in docs/experiments.md). An experiment states a
 * steady-state hypothesis (probes with tolerances), a method (chaos faults from the engine's
 * model, waits, probes that must hold, in sequence or in parallel groups), rollbacks that always
 * run, and abort conditions checked all along. Probe users, setup calls and background traffic
 * make a scenario self-contained: it needs nothing but a running cluster.
 */
import { z } from 'zod';
import { breakerNameSchema, serviceNameSchema } from '../../api/schemas.ts';
import { chaosFaultSchema } from '../../api/chaos.ts';

const ms = (max = 3_600_000) => z.number().int().min(0).max(max);
const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'a name is lower-case letters, digits and dashes, e.g. "slow-tweets"')
  .max(60);

/** Who makes an HTTP call: nobody ("anonymous") or one of the experiment's probe users. */
/** A probe's label in journals, reports and charts (free text). */
const probeName = { name: z.string().min(1).max(80).optional() };

const caller = z.union([z.literal('anonymous'), name]).default('anonymous');

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'DELETE']);
const gatewayPath = z
  .string()
  .startsWith('/', 'a path starts with "/" (it is relative to the gateway)')
  .max(2_000);

/** An HTTP call through the gateway and what its answer must be. */
const httpCheck = z
  .object({
    type: z.literal('http'),
    ...probeName,
    method: httpMethod.default('GET'),
    path: gatewayPath,
    as: caller,
    body: z.json().optional(),
    expect: z
      .object({
        /** Accepted statuses. Default: any 2xx. */
        status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
        /** The gateway's `degraded` field (and X-Chaoscope-Degraded header) must be this. */
        degraded: z.boolean().optional(),
        /** The body must contain this text. */
        bodyIncludes: z.string().max(500).optional(),
        /** The answer must come within this long. */
        maxLatencyMs: ms(120_000).optional(),
      })
      .strict()
      .default({}),
    timeoutMs: ms(120_000).default(10_000),
  })
  .strict();

/** Share of a service's (or one route's) server spans that failed, over a trailing window. */
const errorRate = z
  .object({
    type: z.literal('error-rate'),
    ...probeName,
    service: serviceNameSchema,
    /** The `http.route` of the server spans, e.g. "/api/timeline". */
    route: z.string().startsWith('/').max(300).optional(),
    windowMs: ms().min(500).default(5_000),
    /** The window ends this long before now: spans reach the store a moment after the request. */
    settleMs: ms(60_000).default(1_000),
    /** Tolerance: at most this percentage of errors. */
    maxPercent: z.number().min(0).max(100),
    /** Fewer requests than this in the window is a deviation (nothing was measured). */
    minRequests: z.number().int().min(0).default(1),
  })
  .strict();

/** A latency percentile of a service's (or one route's) server spans over a trailing window. */
const latency = z
  .object({
    type: z.literal('latency'),
    ...probeName,
    service: serviceNameSchema,
    route: z.string().startsWith('/').max(300).optional(),
    percentile: z.enum(['p50', 'p90', 'p95', 'p99']).default('p95'),
    windowMs: ms().min(500).default(5_000),
    settleMs: ms(60_000).default(1_000),
    maxMs: z.number().min(0),
    minRequests: z.number().int().min(0).default(1),
  })
  .strict();

/** The state of a breaker (in every instance of the service that holds it). */
const breakerState = z
  .object({
    type: z.literal('breaker'),
    ...probeName,
    breaker: breakerNameSchema,
    /** Accepted states. "forced-open" and "forced-closed" are operator pins. */
    state: z.array(z.enum(['closed', 'open', 'half-open', 'forced-open', 'forced-closed'])).min(1),
  })
  .strict();

export const probeSchema = z.discriminatedUnion('type', [httpCheck, errorRate, latency, breakerState]);
export type ProbeInput = z.input<typeof probeSchema>;
export type Probe = z.output<typeof probeSchema>;

/**
 * A fault of the chaos engine. `name` lets a later `rollback` step undo it early. `instead`
 * replaces it on runtimes that cannot do it (a partition on the process runtime), with a note that
 * the journal and report show.
 */
const faultStep = z
  .object({
    type: z.literal('fault'),
    name: name.optional(),
    fault: z.record(z.string(), z.unknown()),
    instead: z
      .partialRecord(
        z.enum(['process', 'docker', 'swarm']),
        z.object({ fault: z.record(z.string(), z.unknown()), note: z.string().min(1).max(500) }).strict(),
      )
      .optional(),
  })
  .strict();

const waitStep = z.object({ type: z.literal('wait'), ms: ms(600_000) }).strict();

/**
 * A probe in the method must hold. With `within`, it is polled (every `everyMs`) until it holds
 * or the time is up; the time it took is recorded (e.g. "401 within 100 ms of the revocation").
 */
const probeStep = z
  .object({
    type: z.literal('probe'),
    probe: probeSchema,
    within: ms(600_000).optional(),
    everyMs: ms(60_000).min(1).default(250),
  })
  .strict();

/** Undo a named fault of this run now, instead of at the end. */
const rollbackStep = z.object({ type: z.literal('rollback'), fault: name }).strict();

const leafStep = z.discriminatedUnion('type', [faultStep, waitStep, probeStep, rollbackStep]);
export const methodStepSchema = z.union([
  leafStep,
  z.object({ parallel: z.array(leafStep).min(1).max(20) }).strict(),
]);
export type MethodStep = z.output<typeof methodStepSchema>;
export type LeafStep = z.output<typeof leafStep>;

/** Explicit rollback actions, run after every fault of the run was undone. */
export const rollbackActionSchema = z.discriminatedUnion('type', [
  faultStep.omit({ name: true, instead: true }),
  waitStep,
]);
export type RollbackAction = z.output<typeof rollbackActionSchema>;

/** A call made once before the hypothesis is checked (post a tweet, follow someone). */
const setupCall = z
  .object({
    method: httpMethod.default('POST'),
    path: gatewayPath,
    as: caller,
    body: z.json().optional(),
    /** Accepted statuses. Default: any 2xx. */
    status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  })
  .strict();

export const experimentSchema = z
  .object({
    title: z.string().min(1).max(200),
    description: z.string().max(4_000).default(''),
    tags: z.array(z.string().max(40)).max(20).default([]),
    /**
     * Users the runner signs up and logs in (authorization code + PKCE) before anything else.
     * Their handles are unique per run; write `{{user:NAME}}` anywhere to use one.
     */
    users: z.array(name).max(20).default([]),
    setup: z.array(setupCall).max(50).default([]),
    /** Requests the runner keeps sending during the whole run, so probes have something to see. */
    traffic: z
      .object({
        ratePerSecond: z.number().min(0.1).max(200),
        requests: z
          .array(
            z
              .object({
                method: httpMethod.default('GET'),
                path: gatewayPath,
                as: caller,
                body: z.json().optional(),
              })
              .strict(),
          )
          .min(1)
          .max(20),
        /** Warm-up before the hypothesis is checked, so its windows hold data. */
        warmupMs: ms(120_000).default(2_000),
      })
      .strict()
      .optional(),
    steadyState: z
      .object({
        probes: z.array(probeSchema).max(30).default([]),
        /**
         * Checked again once the run's faults are rolled back; the cluster has this long to return
         * to its steady state (probes polled until they hold).
         */
        recoveryMs: ms(600_000).default(15_000),
      })
      .strict()
      .default({ probes: [], recoveryMs: 15_000 }),
    method: z.array(methodStepSchema).min(1).max(100),
    rollbacks: z.array(rollbackActionSchema).max(50).default([]),
    abort: z
      .object({ probes: z.array(probeSchema).min(1).max(10), everyMs: ms(60_000).min(100).default(500) })
      .strict()
      .optional(),
  })
  .strict();
export type ExperimentInput = z.input<typeof experimentSchema>;
export type Experiment = z.output<typeof experimentSchema>;

/** Checks a step's fault against the engine's model now, so a typo fails before anything runs. */
export function validateFaults(experiment: Experiment): string[] {
  const problems: string[] = [];
  const check = (fault: unknown, where: string) => {
    // Templates stand for handles; any handle-shaped value will do for the check.
    const probe = JSON.parse(
      JSON.stringify(fault).replaceAll(/\{\{user:[a-z0-9-]+\}\}/g, 'someone'),
    ) as unknown;
    const parsed = chaosFaultSchema.safeParse(probe);
    if (!parsed.success)
      problems.push(
        ...parsed.error.issues.map(
          (i) => `${where}.fault${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`,
        ),
      );
  };
  experiment.method.forEach((step, i) => {
    const leaves = 'parallel' in step ? step.parallel : [step];
    leaves.forEach((leaf, j) => {
      const where = 'parallel' in step ? `method[${i}].parallel[${j}]` : `method[${i}]`;
      if (leaf.type === 'fault') {
        check(leaf.fault, where);
        for (const [runtime, alt] of Object.entries(leaf.instead ?? {}))
          check(alt.fault, `${where}.instead.${runtime}`);
      }
    });
  });
  experiment.rollbacks.forEach((action, i) => {
    if (action.type === 'fault') check(action.fault, `rollbacks[${i}]`);
  });
  const users = new Set(experiment.users);
  const text = JSON.stringify(experiment);
  for (const match of text.matchAll(/\{\{user:([a-z0-9-]+)\}\}/g))
    if (!users.has(match[1]!))
      problems.push(`{{user:${match[1]}}} names a user the experiment does not list`);
  for (const match of text.matchAll(/"as":"([a-z0-9-]+)"/g))
    if (match[1] !== 'anonymous' && !users.has(match[1]!))
      problems.push(`"as": "${match[1]}" names a user the experiment does not list`);
  const names = new Set<string>();
  for (const step of experiment.method)
    for (const leaf of 'parallel' in step ? step.parallel : [step])
      if (leaf.type === 'fault' && leaf.name) names.add(leaf.name);
  for (const step of experiment.method)
    for (const leaf of 'parallel' in step ? step.parallel : [step])
      if (leaf.type === 'rollback' && !names.has(leaf.fault))
        problems.push(`rollback step names a fault "${leaf.fault}" no fault step is called`);
  return problems;
}

export class ExperimentFormatError extends Error {
  override readonly name = 'ExperimentFormatError';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`${source} is not a valid experiment: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Parses and checks a definition; throws ExperimentFormatError listing every problem. */
export function parseExperiment(value: unknown, source = 'the definition'): Experiment {
  const parsed = experimentSchema.safeParse(value);
  if (!parsed.success) {
    throw new ExperimentFormatError(
      source,
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`),
    );
  }
  const problems = validateFaults(parsed.data);
  if (problems.length > 0) throw new ExperimentFormatError(source, problems);
  return parsed.data;
}

/** A probe's label in journals and reports. */
export function probeLabel(probe: Probe): string {
  if (probe.name) return probe.name;
  switch (probe.type) {
    case 'http':
      return `${probe.method} ${probe.path}${probe.as !== 'anonymous' ? ` as ${probe.as}` : ''}`;
    case 'error-rate':
      return `error rate of ${probe.service}${probe.route ? ` ${probe.route}` : ''}`;
    case 'latency':
      return `${probe.percentile} of ${probe.service}${probe.route ? ` ${probe.route}` : ''}`;
    case 'breaker':
      return `breaker ${probe.breaker}`;
  }
}

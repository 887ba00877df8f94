/**
 * Validation of what a user types. Commander checks the shape (known verbs, options, choices);
 * these check values, so each mistake gets one line naming the valid ones.
 */
import { constants } from 'node:os';
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../../sample-cluster/cluster.ts';
import { resolveRuntimeChoice } from '../../../sample-cluster/runtime/select.ts';
import type { RuntimeKind } from '../../../sample-cluster/runtime/types.ts';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const RUNTIME_CHOICES = ['auto', 'process', 'docker', 'swarm'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/** The runtime a choice means on this machine (select.ts decides); an unavailable one is a usage error. */
export function resolveRuntime(choice: RuntimeChoice): RuntimeKind {
  try {
    return resolveRuntimeChoice(choice);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

const serviceSchema = z.enum(SERVICE_NAMES, {
  error: (issue) => `unknown service "${String(issue.input)}"; valid: ${SERVICE_NAMES.join(', ')}`,
});

export function parseService(value: string): ServiceName {
  return check(serviceSchema, value);
}

const SIGNAL_NAMES = Object.keys(constants.signals) as NodeJS.Signals[];

const signalSchema = z.enum(SIGNAL_NAMES as [NodeJS.Signals, ...NodeJS.Signals[]]);

/** `KILL`, `sigterm` and `SIGSTOP` all work; numbers do not (they differ between systems). */
export function parseSignal(value: string): NodeJS.Signals {
  const upper = value.trim().toUpperCase();
  const result = signalSchema.safeParse(upper.startsWith('SIG') ? upper : `SIG${upper}`);
  if (result.success) return result.data;
  throw new UsageError(
    `unknown signal "${value}"; use a name such as SIGKILL, SIGTERM, SIGINT, SIGSTOP or SIGCONT`,
  );
}

const portSchema = z.coerce
  .number({ error: (issue) => `"${String(issue.input)}" is not a port number` })
  .int('a port is a whole number')
  .min(1, 'a port is between 1 and 65535')
  .max(65535, 'a port is between 1 and 65535');

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`"${value}" is not a port number`);
  return check(portSchema, value);
}

function check<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new UsageError(result.error.issues[0]?.message ?? 'invalid value');
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `200ms`, `1.5s`, `10s`, `2m`, `1h` → milliseconds. A unit is required: "200" could mean either. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim().toLowerCase());
  if (!match) throw new UsageError(`"${value}" is not a duration; use e.g. 200ms, 10s or 2m`);
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]!]!);
}

/** A probability written as 0.2 or 20%. */
export function parseRate(value: string): number {
  const text = value.trim();
  const rate = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (text === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new UsageError(`"${value}" is not a rate; use a number from 0 to 1 (or a percentage, e.g. 20%)`);
  }
  return rate;
}

export function parsePositiveInt(value: string, what: string, max: number): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > max) {
    throw new UsageError(`"${value}" is not a valid ${what}; use a whole number from 1 to ${max}`);
  }
  return n;
}

export function parseStatus(value: string): number {
  const n = Number(value.trim());
  if (!/^\d{3}$/.test(value.trim()) || n < 400 || n > 599) {
    throw new UsageError(`"${value}" is not an error status; use 400 to 599`);
  }
  return n;
}

/** `caller:callee`, both service names. */
export function parseBreakerName(value: string): string {
  const [caller, callee, ...rest] = value.split(':');
  if (!caller || !callee || rest.length > 0) {
    throw new UsageError(
      `"${value}" is not a breaker; breakers are named caller:callee, e.g. gateway:timeline`,
    );
  }
  return `${parseService(caller)}:${parseService(callee)}`;
}

export function parseTraceId(value: string): string {
  if (!/^[0-9a-fA-F]{32}$/.test(value.trim()))
    throw new UsageError(`"${value}" is not a trace id (32 hex characters)`);
  return value.trim().toLowerCase();
}

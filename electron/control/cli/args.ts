/**
 * Validation of what a user types. Commander checks the shape (known verbs, options, choices);
 * these check values, so each mistake gets one line naming the valid ones.
 */
import { constants } from 'node:os';
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from '../../../sample-cluster/cluster.ts';
import type { RuntimeKind } from '../../../sample-cluster/runtime/types.ts';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const RUNTIME_CHOICES = ['auto', 'process', 'docker', 'swarm'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/** Runtimes this build can drive. */
const AVAILABLE: readonly RuntimeKind[] = ['process'];

/** `auto` is the process runtime until the docker runtime exists (then: docker when an engine answers). */
export function resolveRuntime(choice: RuntimeChoice): RuntimeKind {
  const kind: RuntimeKind = choice === 'auto' ? 'process' : choice;
  if (!AVAILABLE.includes(kind)) {
    throw new UsageError(`the ${kind} runtime is not available yet; use --runtime process (or auto)`);
  }
  return kind;
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

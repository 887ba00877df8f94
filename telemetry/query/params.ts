import { z } from 'zod';

/** A query's parameters did not validate; the message lists each problem. */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidQueryError';
}

/** Validate a query's parameters at the boundary (CLI, IPC and HTTP callers all come through here). */
export function parseParams<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidQueryError(`invalid ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Query times are Unix milliseconds (or Dates); the store keeps Unix nanoseconds. */
export const timeMs = z.union([z.number().finite(), z.date().transform((d) => d.getTime())]);

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** Through whole microseconds: exact in a double for any Unix time, so ms values compare cleanly. */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

export const traceIdParam = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters')
  .transform((s) => s.toLowerCase());

export const spanIdParam = z
  .string()
  .regex(/^[0-9a-fA-F]{16}$/, 'a span id is 16 hex characters')
  .transform((s) => s.toLowerCase());

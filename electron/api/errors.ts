/**
 * The one error shape every transport carries (IPC, HTTP, the CLI's client): a code a program
 * branches on, a message a person reads (one line), and optional details (extra lines, or the
 * per-field problems of a rejected input).
 */
import { z } from 'zod';

export const API_ERROR_CODES = [
  /** The input did not match the command's schema, or a value made no sense. */
  'BAD_REQUEST',
  /** Web mode: no token, or a wrong one. */
  'UNAUTHORIZED',
  /** Web mode: a foreign Host or Origin (DNS rebinding), or a forbidden kind of request. */
  'FORBIDDEN',
  /** The thing named (command, service instance, breaker, fault, trace) does not exist. */
  'NOT_FOUND',
  /** The command needs a cluster and none is running. */
  'NO_CLUSTER',
  /** The CLI found no running control plane (never sent by the control plane itself). */
  'NO_CONTROL_PLANE',
  /** The cluster or service is in a state that forbids this now (already running, not running). */
  'CONFLICT',
  /** This runtime cannot do it (a network partition on the process runtime). */
  'UNSUPPORTED',
  /** Something the command needs does not answer (a service's admin routes, the store). */
  'UNAVAILABLE',
  /** The operation was cancelled (Ctrl+C during `up`). */
  'ABORTED',
  /** The operation was tried and failed (a service did not start). */
  'FAILED',
  /** A bug: the control plane broke its own contract. */
  'INTERNAL',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export const apiErrorSchema = z.object({
  code: z.enum(API_ERROR_CODES),
  message: z.string(),
  details: z.array(z.string()).optional(),
});
export type ApiErrorShape = z.infer<typeof apiErrorSchema>;

/** What a command answers, on every transport: its value, or the error. */
export const invokeResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: apiErrorSchema }),
]);
export type InvokeResult = z.infer<typeof invokeResultSchema>;

/** An error with the contract's shape, thrown on the client side and by handlers. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  readonly details: readonly string[] | undefined;

  constructor(code: ApiErrorCode, message: string, details?: readonly string[]) {
    super(message);
    this.code = code;
    this.details = details;
  }

  toJSON(): ApiErrorShape {
    return {
      code: this.code,
      message: this.message,
      ...(this.details && this.details.length > 0 ? { details: [...this.details] } : {}),
    };
  }

  static from(shape: ApiErrorShape): ApiError {
    return new ApiError(shape.code, shape.message, shape.details);
  }
}

export function isApiError(error: unknown, code?: ApiErrorCode): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** One line per issue, `path: message`, for BAD_REQUEST details. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

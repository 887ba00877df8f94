/**
 * Every failure a handler can meet, turned into the contract's one error shape. Unknown errors
 * become INTERNAL with their message (never a stack: that goes to the log).
 */
import { ZodError } from 'zod';
import { ApiError, describeIssues, type ApiErrorCode } from '../api/errors.ts';
import { AdminError } from '../../sample-cluster/runtime/admin-client.ts';
import { RuntimeError } from '../../sample-cluster/runtime/errors.ts';
import { InvalidQueryError } from '../../telemetry/query/index.ts';

const RUNTIME_CODES: Record<string, ApiErrorCode> = {
  NO_CLUSTER: 'NO_CLUSTER',
  ALREADY_RUNNING: 'CONFLICT',
  START_FAILED: 'FAILED',
  UNKNOWN_SERVICE: 'NOT_FOUND',
  NOT_RUNNING: 'CONFLICT',
  STATE_CORRUPT: 'FAILED',
  PORT_UNAVAILABLE: 'FAILED',
  ABORTED: 'ABORTED',
  ENGINE_UNAVAILABLE: 'UNAVAILABLE',
  UNSUPPORTED: 'UNSUPPORTED',
};

const ADMIN_CODES: Record<AdminError['kind'], ApiErrorCode> = {
  unreachable: 'UNAVAILABLE',
  unauthorized: 'FAILED',
  'not-found': 'NOT_FOUND',
  'bad-request': 'BAD_REQUEST',
  failed: 'FAILED',
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof RuntimeError) {
    return new ApiError(RUNTIME_CODES[error.code] ?? 'FAILED', error.message, error.details);
  }
  if (error instanceof AdminError) {
    return new ApiError(ADMIN_CODES[error.kind], error.message, error.problems);
  }
  if (error instanceof InvalidQueryError) return new ApiError('BAD_REQUEST', error.message);
  if (error instanceof ZodError) return new ApiError('BAD_REQUEST', 'invalid input', describeIssues(error));
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError('INTERNAL', message.split('\n')[0] ?? 'internal error');
}

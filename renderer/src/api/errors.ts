import { isApiError } from '../../../electron/api/index.ts';

/** One line for a person, from whatever a call threw (contract errors keep their code). */
export function describeError(error: unknown): string {
  if (isApiError(error)) {
    const detail =
      error.details && error.details.length > 0 ? ` (${error.details.slice(0, 2).join('; ')})` : '';
    return `${error.message}${detail}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function errorCode(error: unknown): string | null {
  return isApiError(error) ? error.code : null;
}

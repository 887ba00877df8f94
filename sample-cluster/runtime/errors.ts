/**
 * Failures a runtime reports to its caller. Each carries a code the CLI and the app map to an exit
 * code or a message, and a message that is already fit to show a user on one line (plus, for
 * START_FAILED, the tail of the service's log on the following lines).
 */
export const RUNTIME_ERROR_CODES = [
  'NO_CLUSTER',
  'ALREADY_RUNNING',
  'START_FAILED',
  'UNKNOWN_SERVICE',
  'NOT_RUNNING',
  'STATE_CORRUPT',
  'PORT_UNAVAILABLE',
  'ABORTED',
  /** No container engine answers (docker and swarm runtimes). */
  'ENGINE_UNAVAILABLE',
  /** The engine or kernel lacks what the request needs (e.g. netem, swarm mode). */
  'UNSUPPORTED',
] as const;
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  readonly code: RuntimeErrorCode;
  /** Extra lines worth showing under the message (e.g. the last lines of a log). */
  readonly details: readonly string[];

  constructor(
    code: RuntimeErrorCode,
    message: string,
    options: { details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isRuntimeError(error: unknown, code?: RuntimeErrorCode): error is RuntimeError {
  return error instanceof RuntimeError && (code === undefined || error.code === code);
}

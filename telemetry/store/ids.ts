/**
 * Trace and span ids are stored as 128- and 64-bit unsigned integers rather than hex text: half the
 * bytes, fixed width (cheap equality, compact index keys), and numeric order equals hex order, so
 * sorting by id stays meaningful. These helpers are the only place the two forms meet.
 */
const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;
const ZERO_SPAN_ID = '0000000000000000';

export class InvalidIdError extends TypeError {
  override readonly name = 'InvalidIdError';
}

export function isTraceId(value: string): boolean {
  return TRACE_ID.test(value);
}

export function isSpanId(value: string): boolean {
  return SPAN_ID.test(value);
}

export function traceIdToBigInt(hex: string): bigint {
  if (!TRACE_ID.test(hex))
    throw new InvalidIdError(`trace id must be 32 hex characters, got ${JSON.stringify(hex)}`);
  return BigInt('0x' + hex);
}

export function spanIdToBigInt(hex: string): bigint {
  if (!SPAN_ID.test(hex))
    throw new InvalidIdError(`span id must be 16 hex characters, got ${JSON.stringify(hex)}`);
  return BigInt('0x' + hex);
}

/** OTLP writes "no parent" as an empty or all-zero id as often as it omits it. */
export function parentSpanIdToBigInt(hex: string | null): bigint | null {
  if (hex === null || hex === '' || hex === ZERO_SPAN_ID) return null;
  return spanIdToBigInt(hex);
}

export function traceIdFromBigInt(value: bigint): string {
  return value.toString(16).padStart(32, '0');
}

export function spanIdFromBigInt(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** A literal for SQL text; safe because it comes out of BigInt, never from the caller's string. */
export function traceIdLiteral(hex: string): string {
  return `${traceIdToBigInt(hex)}::UHUGEINT`;
}

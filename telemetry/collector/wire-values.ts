import type { AttributeValue } from '../model/telemetry.ts';
import type { WireBytes, WireInt64 } from './otlp-wire.ts';

const TWO_32 = 0x1_0000_0000n;

/** long.js (protobufjs), number (JSON, or a default) or bigint (JSON int64 strings) → bigint. */
export function toBigInt(v: WireInt64): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  const unsigned = BigInt(v.high >>> 0) * TWO_32 + BigInt(v.low >>> 0);
  return v.unsigned ? unsigned : BigInt.asIntN(64, unsigned);
}

/** Unsigned 64-bit nanoseconds; absent is 0. */
export function toNanos(v: WireInt64 | null | undefined): bigint {
  if (v == null) return 0n;
  return BigInt.asUintN(64, toBigInt(v));
}

export function toNumber(v: WireInt64 | null | undefined): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  return Number(toBigInt(v));
}

/** JSON has no 64-bit integers: beyond 2^53 the value is kept exact as a decimal string. */
export function bigintToAttribute(v: bigint): AttributeValue {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

export function bytesToBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const HEX_32 = /^[0-9a-fA-F]{32}$/;
const HEX_16 = /^[0-9a-fA-F]{16}$/;

/**
 * A trace (16 bytes) or span (8 bytes) id as lowercase hex; `null` when absent (empty), `undefined`
 * when present but invalid (wrong length, not hex, all zeroes), which the spec calls invalid.
 */
export function idHex(v: WireBytes | null | undefined, byteLength: 16 | 8): string | null | undefined {
  if (v == null || v.length === 0) return null;
  let hex: string;
  if (typeof v === 'string') {
    if (!(byteLength === 16 ? HEX_32 : HEX_16).test(v)) return undefined;
    hex = v.toLowerCase();
  } else {
    if (v.length !== byteLength) return undefined;
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  return hex === (byteLength === 16 ? ZERO_TRACE_ID : ZERO_SPAN_ID) ? undefined : hex;
}

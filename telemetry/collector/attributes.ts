import type { AttributeValue, Attributes } from '../model/telemetry.ts';
import type { CollectorLimits } from './limits.ts';
import { bigintToAttribute, bytesToBase64, toBigInt } from './wire-values.ts';
import { ANY_VALUE_CASES, presentCase, type WireAnyValue, type WireKeyValue } from './otlp-wire.ts';

/**
 * Turns wire attributes into model attributes under the limits, and counts what it cut so the
 * answer (partial success warning) and the collector's stats can say so.
 */
export class AttributeLimiter {
  readonly limits: Pick<CollectorLimits, 'maxAttributeValueLength' | 'maxAttributes' | 'maxAttributeDepth'>;
  truncatedValues = 0;
  droppedAttributes = 0;

  constructor(
    limits: Pick<CollectorLimits, 'maxAttributeValueLength' | 'maxAttributes' | 'maxAttributeDepth'>,
  ) {
    this.limits = limits;
  }

  attributes(list: readonly WireKeyValue[] | null | undefined): Attributes {
    const out: Attributes = {};
    if (!list) return out;
    const max = this.limits.maxAttributes;
    let kept = 0;
    for (const kv of list) {
      if (kept >= max) {
        this.droppedAttributes += 1;
        continue;
      }
      const key = this.string(kv.key ?? '');
      setAttribute(out, key, this.value(kv.value, 1));
      kept += 1;
    }
    return out;
  }

  string(value: string): string {
    const max = this.limits.maxAttributeValueLength;
    if (value.length <= max) return value;
    this.truncatedValues += 1;
    // Never leave half a surrogate pair at the cut.
    const end = isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max;
    return value.slice(0, end);
  }

  value(v: WireAnyValue | null | undefined, depth: number): AttributeValue {
    if (!v) return null;
    switch (presentCase(v, ANY_VALUE_CASES)) {
      case 'stringValue':
        return this.string(v.stringValue ?? '');
      case 'boolValue':
        return v.boolValue === true;
      case 'intValue':
        return v.intValue == null ? 0 : bigintToAttribute(toBigInt(v.intValue));
      case 'doubleValue':
        return v.doubleValue ?? 0;
      case 'bytesValue': {
        const b = v.bytesValue;
        return this.string(b == null ? '' : typeof b === 'string' ? b : bytesToBase64(b));
      }
      case 'arrayValue': {
        if (depth >= this.limits.maxAttributeDepth) return this.tooDeep();
        const values = v.arrayValue?.values ?? [];
        const max = this.limits.maxAttributes;
        if (values.length > max) this.droppedAttributes += values.length - max;
        const out: AttributeValue[] = [];
        for (let i = 0; i < values.length && i < max; i += 1) out.push(this.value(values[i], depth + 1));
        return out;
      }
      case 'kvlistValue': {
        if (depth >= this.limits.maxAttributeDepth) return this.tooDeep();
        const out: { [key: string]: AttributeValue } = {};
        const values = v.kvlistValue?.values ?? [];
        const max = this.limits.maxAttributes;
        if (values.length > max) this.droppedAttributes += values.length - max;
        for (let i = 0; i < values.length && i < max; i += 1) {
          const kv = values[i];
          if (kv) setAttribute(out, this.string(kv.key ?? ''), this.value(kv.value, depth + 1));
        }
        return out;
      }
      default:
        return null;
    }
  }

  private tooDeep(): null {
    this.truncatedValues += 1;
    return null;
  }
}

/** `__proto__` as an attribute key must stay a key, not become the object's prototype. */
export function setAttribute(
  target: { [key: string]: AttributeValue },
  key: string,
  value: AttributeValue,
): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

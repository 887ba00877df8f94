/**
 * Latency percentiles over a rolling window, in bounded memory. Values fall into log-spaced
 * buckets (each about 4% wider than the previous, as in HDR histograms), so a percentile is off
 * by at most ~2% whatever the scale; the window is a ring of time slots, each with its own buckets,
 * and a slot older than the window is simply reused.
 */

const MIN_MS = 0.05;
const MAX_MS = 300_000;
const GROWTH = 1.04;
const LOG_GROWTH = Math.log(GROWTH);
export const BUCKET_COUNT = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GROWTH) + 1;

function bucketOf(valueMs: number): number {
  if (!(valueMs > MIN_MS)) return 0;
  return Math.min(BUCKET_COUNT - 1, Math.ceil(Math.log(valueMs / MIN_MS) / LOG_GROWTH));
}

/** Geometric middle of a bucket: the value with the smallest worst-case relative error. */
function representative(bucket: number): number {
  if (bucket === 0) return MIN_MS;
  return MIN_MS * GROWTH ** (bucket - 0.5);
}

interface Slot {
  epoch: number;
  count: number;
  max: number;
  counts: Uint32Array | null;
}

export interface LatencySummary {
  readonly windowSeconds: number;
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export class RollingHistogram {
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #slots: Slot[];
  readonly #now: () => number;

  constructor(options: { windowMs?: number; slots?: number; now?: () => number } = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    const slots = options.slots ?? 12;
    this.#slotMs = this.windowMs / slots;
    this.#slots = Array.from({ length: slots }, () => ({ epoch: -1, count: 0, max: 0, counts: null }));
    this.#now = options.now ?? Date.now;
  }

  record(valueMs: number): void {
    if (!Number.isFinite(valueMs) || valueMs < 0) return;
    const epoch = Math.floor(this.#now() / this.#slotMs);
    const slot = this.#slots[epoch % this.#slots.length]!;
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.count = 0;
      slot.max = 0;
      slot.counts?.fill(0);
    }
    slot.counts ??= new Uint32Array(BUCKET_COUNT);
    slot.counts[bucketOf(valueMs)]! += 1;
    slot.count += 1;
    if (valueMs > slot.max) slot.max = valueMs;
  }

  /** Percentiles (0 < q ≤ 1) of the values recorded within the window; null when there are none. */
  percentiles(qs: readonly number[]): { count: number; max: number | null; values: Array<number | null> } {
    const live = this.#liveSlots();
    const count = live.reduce((sum, s) => sum + s.count, 0);
    if (count === 0) return { count: 0, max: null, values: qs.map(() => null) };
    const max = Math.max(...live.map((s) => s.max));
    const merged = new Float64Array(BUCKET_COUNT);
    for (const slot of live) {
      const counts = slot.counts!;
      for (let i = 0; i < BUCKET_COUNT; i++) merged[i]! += counts[i]!;
    }
    const values = qs.map((q) => {
      const rank = Math.max(1, Math.ceil(q * count));
      let seen = 0;
      for (let i = 0; i < BUCKET_COUNT; i++) {
        seen += merged[i]!;
        // The exact maximum is known, so no percentile is reported above it.
        if (seen >= rank) return Math.min(representative(i), max);
      }
      return max;
    });
    return { count, max, values };
  }

  summary(): LatencySummary {
    const { count, max, values } = this.percentiles([0.5, 0.9, 0.99]);
    const round = (v: number | null | undefined) => (v == null ? null : Math.round(v * 100) / 100);
    return {
      windowSeconds: this.windowMs / 1000,
      count,
      p50: round(values[0]),
      p90: round(values[1]),
      p99: round(values[2]),
      max: round(max),
    };
  }

  reset(): void {
    for (const slot of this.#slots) {
      slot.epoch = -1;
      slot.count = 0;
      slot.max = 0;
      slot.counts = null;
    }
  }

  #liveSlots(): Slot[] {
    const current = Math.floor(this.#now() / this.#slotMs);
    const oldest = current - this.#slots.length + 1;
    return this.#slots.filter((s) => s.count > 0 && s.epoch >= oldest && s.epoch <= current);
  }
}

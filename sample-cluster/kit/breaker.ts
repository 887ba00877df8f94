import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { z } from 'zod';

export const breakerSettingsSchema = z.object({
  /** A call slower than this fails with a timeout. */
  timeoutMs: z.number().int().min(10).max(120_000),
  /** Open when the failure percentage in the rolling window exceeds this. */
  errorThresholdPercentage: z.number().min(1).max(100),
  /** Calls needed in the window before the breaker may open. */
  volumeThreshold: z.number().int().min(0).max(10_000),
  /** How long the breaker stays open before letting one trial call through. */
  resetTimeoutMs: z.number().int().min(100).max(600_000),
  /** Concurrent calls allowed before further calls are rejected (bulkhead). */
  capacity: z.number().int().min(1).max(100_000),
  /**
   * Open at once after this many failures in a row, whatever the window says: a dead dependency
   * refuses every connection, and waiting for the rolling percentage would take seconds.
   */
  consecutiveFailures: z.number().int().min(1).max(10_000),
});

export type BreakerSettings = z.infer<typeof breakerSettingsSchema>;

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  timeoutMs: 2_000,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 3_000,
  capacity: 200,
  consecutiveFailures: 3,
};

/**
 * Edges whose callee does costly work by design. Auth hashes a password (scrypt) on every sign-up
 * and login: on a busy 2-core machine that alone can pass 2 s, and a breaker that opens on it would
 * lock every user out while auth is merely slow.
 */
const CALLEE_DEFAULTS: Readonly<Record<string, Partial<BreakerSettings>>> = {
  auth: { timeoutMs: 5_000 },
};

/** Rolling window: 10 s in 10 buckets, as Hystrix does, so rates read as "per last 10 s". */
const ROLLING_WINDOW_MS = 10_000;
const ROLLING_BUCKETS = 10;

export type BreakerState = 'closed' | 'open' | 'half-open' | 'forced-open' | 'forced-closed';

export interface BreakerTransition {
  readonly breaker: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly at: string;
  /** Why: the failure rate, an operator action, a trial call. */
  readonly reason: string;
}

export interface BreakerSnapshot {
  readonly name: string;
  readonly caller: string;
  readonly callee: string;
  readonly state: BreakerState;
  readonly settings: BreakerSettings;
  readonly rollingWindowMs: number;
  readonly counts: {
    readonly requests: number;
    readonly success: number;
    readonly failure: number;
    readonly timeout: number;
    /** Refused without calling because the breaker was open. */
    readonly shortCircuited: number;
    /** Refused because the bulkhead (capacity) was full. */
    readonly rejected: number;
    readonly fallback: number;
  };
  readonly errorPercentage: number;
  readonly ratePerSecond: number;
  readonly latencyMs: {
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p995: number;
    readonly max: number;
  };
  readonly transitions: readonly BreakerTransition[];
}

export class BreakerOpenError extends Error {
  override readonly name = 'BreakerOpenError';
}

type Call = () => Promise<unknown>;

/**
 * One circuit breaker for one caller→callee edge, on opossum. Operators can pin it open or
 * closed; opossum itself has no such mode, so the pin is enforced here by reacting to its
 * state events.
 */
export class EdgeBreaker {
  readonly name: string;
  readonly caller: string;
  readonly callee: string;
  private settings: BreakerSettings;
  private breaker: CircuitBreaker<[Call], unknown>;
  private pinned: 'open' | 'closed' | null = null;
  private lastState: BreakerState = 'closed';
  private consecutive = 0;
  private openReason: string | null = null;
  private readonly history: BreakerTransition[] = [];
  private readonly events: EventEmitter;

  constructor(caller: string, callee: string, settings: BreakerSettings, events: EventEmitter) {
    this.caller = caller;
    this.callee = callee;
    this.name = `${caller}:${callee}`;
    this.settings = settings;
    this.events = events;
    this.breaker = this.build();
  }

  private build(previous?: CircuitBreaker<[Call], unknown>): CircuitBreaker<[Call], unknown> {
    const options: CircuitBreaker.Options = {
      name: this.name,
      timeout: this.settings.timeoutMs,
      errorThresholdPercentage: this.settings.errorThresholdPercentage,
      volumeThreshold: this.settings.volumeThreshold,
      resetTimeout: this.settings.resetTimeoutMs,
      capacity: this.settings.capacity,
      rollingCountTimeout: ROLLING_WINDOW_MS,
      rollingCountBuckets: ROLLING_BUCKETS,
      rollingPercentilesEnabled: true,
    };
    if (previous) {
      // Keep the rolling counts and the state across a change of thresholds.
      Object.assign(options, { status: previous.status, state: previous.toJSON().state });
    }
    const breaker = new CircuitBreaker<[Call], unknown>((call: Call) => call(), options);
    breaker.on('open', () => {
      if (this.pinned === 'closed') breaker.close();
      const reason =
        this.pinned === 'open'
          ? 'operator pinned the breaker open'
          : (this.openReason ??
            (this.lastState === 'half-open'
              ? 'trial call failed'
              : `failure rate above ${this.settings.errorThresholdPercentage}%`));
      this.openReason = null;
      this.observe(reason);
    });
    breaker.on('success', () => {
      this.consecutive = 0;
    });
    breaker.on('failure', () => {
      this.consecutive += 1;
      if (this.consecutive >= this.settings.consecutiveFailures && breaker.closed && this.pinned === null) {
        this.openReason = `${this.consecutive} failures in a row`;
        breaker.open();
      }
    });
    breaker.on('halfOpen', () => {
      // A pinned-open breaker must not let a trial call through when its reset timer fires.
      if (this.pinned === 'open') breaker.open();
      else this.observe(`reset timeout of ${this.settings.resetTimeoutMs} ms elapsed; next call is a trial`);
    });
    breaker.on('close', () => {
      if (this.pinned === 'open') breaker.open();
      else
        this.observe(
          this.pinned === 'closed' ? 'operator pinned the breaker closed' : 'trial call succeeded',
        );
    });
    return breaker;
  }

  get state(): BreakerState {
    if (this.pinned === 'open') return 'forced-open';
    if (this.pinned === 'closed') return 'forced-closed';
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  private observe(reason: string): void {
    const to = this.state;
    if (to === this.lastState) return;
    const transition: BreakerTransition = {
      breaker: this.name,
      from: this.lastState,
      to,
      at: new Date().toISOString(),
      reason,
    };
    this.lastState = to;
    this.history.push(transition);
    if (this.history.length > 50) this.history.shift();
    this.events.emit('transition', transition);
  }

  /**
   * Run a call through the breaker. A refused call (open, bulkhead full) and a failed one both
   * reject; with a fallback, the fallback's value is returned instead and counted as a fallback.
   */
  async fire<T>(call: () => Promise<T>, fallback?: (error: unknown) => T | Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(call)) as T;
    } catch (error) {
      const reason = normaliseBreakerError(error);
      if (!fallback) throw reason;
      const value = await fallback(reason);
      this.breaker.emit('fallback', value, reason);
      return value;
    }
  }

  forceOpen(): void {
    this.pinned = 'open';
    this.breaker.open();
    this.observe('operator pinned the breaker open');
  }

  forceClosed(): void {
    this.pinned = 'closed';
    this.breaker.close();
    this.observe('operator pinned the breaker closed');
  }

  /** Back to automatic operation, closed, with the pin removed. */
  reset(): void {
    this.pinned = null;
    this.breaker.close();
    this.observe('operator reset the breaker');
  }

  configure(changes: Partial<BreakerSettings>): void {
    const next = breakerSettingsSchema.parse({ ...this.settings, ...changes });
    const previous = this.breaker;
    this.settings = next;
    for (const event of ['open', 'halfOpen', 'close', 'success', 'failure'] as const)
      previous.removeAllListeners(event);
    this.breaker = this.build(previous);
    previous.shutdown();
    if (this.pinned === 'open') this.breaker.open();
  }

  snapshot(): BreakerSnapshot {
    const s = this.breaker.stats;
    const p = s.percentiles as Record<string, number>;
    const pct = (key: string) => Math.max(0, Math.round((p[key] ?? 0) * 100) / 100);
    // opossum counts a timeout as a failure too: adding timeouts again would count it twice.
    const failures = s.failures;
    const requests = s.fires;
    return {
      name: this.name,
      caller: this.caller,
      callee: this.callee,
      state: this.state,
      settings: { ...this.settings },
      rollingWindowMs: ROLLING_WINDOW_MS,
      counts: {
        requests,
        success: s.successes,
        failure: s.failures,
        timeout: s.timeouts,
        shortCircuited: s.rejects,
        rejected: s.semaphoreRejections,
        fallback: s.fallbacks,
      },
      errorPercentage:
        requests === 0
          ? 0
          : Math.round(((failures + s.rejects + s.semaphoreRejections) / requests) * 1000) / 10,
      ratePerSecond: Math.round((requests / (ROLLING_WINDOW_MS / 1000)) * 10) / 10,
      latencyMs: {
        mean: Math.max(0, Math.round(s.latencyMean * 100) / 100),
        p50: pct('0.5'),
        p90: pct('0.9'),
        p99: pct('0.99'),
        p995: pct('0.995'),
        max: pct('1'),
      },
      transitions: [...this.history],
    };
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

/** opossum signals refusals by error codes; give them names callers can test with instanceof. */
function normaliseBreakerError(error: unknown): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'EOPENBREAKER') return new BreakerOpenError('circuit breaker is open');
  if (code === 'ESEMLOCKED') return new BreakerOpenError('circuit breaker bulkhead is full');
  return error;
}

/** Every breaker of one service, keyed by callee. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, EdgeBreaker>();
  private readonly events = new EventEmitter();
  private defaults: BreakerSettings = DEFAULT_BREAKER_SETTINGS;
  private readonly caller: string;

  constructor(caller: string, log?: Logger) {
    this.caller = caller;
    if (log)
      this.events.on('transition', (t: BreakerTransition) =>
        log.warn({ breaker: t }, `breaker ${t.breaker}: ${t.from} → ${t.to}`),
      );
  }

  forCallee(callee: string): EdgeBreaker {
    let breaker = this.breakers.get(callee);
    if (!breaker) {
      const settings = { ...this.defaults, ...CALLEE_DEFAULTS[callee] };
      breaker = new EdgeBreaker(this.caller, callee, settings, this.events);
      this.breakers.set(callee, breaker);
    }
    return breaker;
  }

  /** Find by full name ("caller:callee") or by callee alone. */
  find(name: string): EdgeBreaker | undefined {
    const callee = name.includes(':')
      ? name.startsWith(`${this.caller}:`)
        ? name.slice(this.caller.length + 1)
        : undefined
      : name;
    return callee === undefined ? undefined : this.breakers.get(callee);
  }

  snapshot(name: string): BreakerSnapshot | undefined {
    return this.find(name)?.snapshot();
  }

  snapshots(): BreakerSnapshot[] {
    return [...this.breakers.values()].map((b) => b.snapshot());
  }

  onTransition(listener: (t: BreakerTransition) => void): () => void {
    this.events.on('transition', listener);
    return () => this.events.off('transition', listener);
  }

  setDefaults(settings: Partial<BreakerSettings>): void {
    this.defaults = breakerSettingsSchema.parse({ ...this.defaults, ...settings });
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
  }
}

export interface SchedulerCounts {
  /** Ticks started. */
  readonly started: number;
  /** Ticks dropped because maxInFlight were already running. */
  readonly skipped: number;
  readonly inFlight: number;
}

/**
 * Starts `task` ratePerSecond times a second (fractional rates too), with at most maxInFlight
 * running at once. A tick that finds the cap reached is dropped and counted, never queued: a slow
 * cluster sees a steady offered load instead of a growing backlog that bursts when it recovers.
 */
export class TickScheduler {
  #rate: number;
  #maxInFlight: number;
  readonly #task: () => Promise<void>;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #credit = 0;
  #last = 0;
  #started = 0;
  #skipped = 0;
  readonly #running = new Set<Promise<void>>();

  constructor(options: {
    ratePerSecond: number;
    maxInFlight: number;
    task: () => Promise<void>;
    now?: () => number;
    intervalMs?: number;
    onError?: (error: unknown) => void;
  }) {
    this.#rate = options.ratePerSecond;
    this.#maxInFlight = options.maxInFlight;
    this.#task = options.task;
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = options.intervalMs ?? 20;
    this.#onError = options.onError ?? (() => {});
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  counts(): SchedulerCounts {
    return { started: this.#started, skipped: this.#skipped, inFlight: this.#running.size };
  }

  resetCounts(): void {
    this.#started = 0;
    this.#skipped = 0;
  }

  configure(settings: { ratePerSecond?: number; maxInFlight?: number }): void {
    if (settings.ratePerSecond !== undefined) this.#rate = settings.ratePerSecond;
    if (settings.maxInFlight !== undefined) this.#maxInFlight = settings.maxInFlight;
  }

  start(): void {
    if (this.#timer) return;
    this.#last = this.#now();
    this.#credit = 0;
    this.#timer = setInterval(() => this.pump(), this.#intervalMs);
  }

  /** Stop starting ticks; those running finish (see drain). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves when every running tick has ended. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Start the ticks due since the last pump. Called by the timer; tests call it with a clock of their own. */
  pump(now = this.#now()): void {
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    // At most a second of credit: a stalled event loop does not turn into a burst afterwards.
    this.#credit = Math.min(this.#credit + (this.#rate * elapsed) / 1000, Math.max(1, this.#rate));
    while (this.#credit >= 1) {
      this.#credit -= 1;
      if (this.#running.size >= this.#maxInFlight) {
        this.#skipped += 1;
        continue;
      }
      this.#launch();
    }
  }

  #launch(): void {
    this.#started += 1;
    const run: Promise<void> = Promise.resolve()
      .then(() => this.#task())
      .catch((error: unknown) => this.#onError(error))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }
}

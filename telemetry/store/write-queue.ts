/**
 * Group commit. Callers' batches wait here until one transaction takes many of them at once; each
 * caller's promise settles only when that transaction has committed (or failed). A commit starts
 * when `maxRows` rows are waiting or the oldest batch has waited `maxDelayMs`, and batches that
 * arrive while a commit is running ride on the next one, so under load the groups grow by
 * themselves and one fsync serves many callers.
 *
 * Maintenance work (retention) runs in the same single lane, between commits, so the store never
 * has two writers racing on one connection.
 */
export interface QueuedBatch<T> {
  readonly item: T;
  readonly rows: number;
  readonly enqueuedAt: number;
}

export interface WriteQueueOptions<T> {
  readonly maxRows: number;
  readonly maxDelayMs: number;
  /** Above this many waiting rows `push` refuses outright (callers should have heeded `pressure`). */
  readonly hardLimitRows: number;
  readonly commit: (batches: readonly QueuedBatch<T>[]) => Promise<void>;
}

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
}

interface Waiting<T> extends QueuedBatch<T> {
  readonly settle: { resolve: () => void; reject: (error: unknown) => void };
  readonly done: Promise<void>;
}

export class WriteQueue<T> {
  private readonly options: WriteQueueOptions<T>;
  private waiting: Waiting<T>[] = [];
  private waitingRows = 0;
  private readonly jobs: (() => Promise<void>)[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | null = null;
  private flushing = 0;
  private closed = false;
  /** Rows per second drained by commits, smoothed; used to tell callers how long to back off. */
  private drainRate = 0;
  commits = 0;
  committedRows = 0;
  lastCommitMs = 0;

  constructor(options: WriteQueueOptions<T>) {
    this.options = options;
  }

  get pendingRows(): number {
    return this.waitingRows;
  }

  get pendingBatches(): number {
    return this.waiting.length;
  }

  get rowsPerSecond(): number {
    return this.drainRate;
  }

  push(item: T, rows: number): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError('the telemetry store is closed'));
    if (this.waitingRows + rows > this.options.hardLimitRows && this.waiting.length > 0) {
      return Promise.reject(
        new QueueFullError(
          `write queue full: ${this.waitingRows} rows waiting (limit ${this.options.hardLimitRows})`,
        ),
      );
    }
    let settle!: Waiting<T>['settle'];
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.waiting.push({ item, rows, enqueuedAt: performance.now(), settle, done });
    this.waitingRows += rows;
    this.kick();
    return done;
  }

  /** Run `job` alone in the write lane, after the commit in progress. */
  exclusive<R>(job: () => Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new QueueClosedError('the telemetry store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.jobs.push(() => job().then(resolve, reject));
      this.kick();
    });
  }

  /** Commit everything queued so far, without waiting for the delay. */
  async flush(): Promise<void> {
    const outstanding = this.waiting.map((w) => w.done.catch(() => undefined));
    if (outstanding.length === 0 && !this.busy) return;
    this.flushing++;
    try {
      this.kick();
      await Promise.all(outstanding);
      // A job or commit may still be running; wait for the lane to go quiet once.
      await this.exclusive(async () => undefined).catch(() => undefined);
    } finally {
      this.flushing--;
    }
  }

  /** Refuse new work, commit what is queued, then stop. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Pushed while the flush ran: nothing will commit them now.
    for (const w of this.waiting.splice(0))
      w.settle.reject(new QueueClosedError('the telemetry store is closed'));
    this.waitingRows = 0;
  }

  private due(now: number): boolean {
    const oldest = this.waiting[0];
    if (!oldest) return false;
    return (
      this.flushing > 0 ||
      this.waitingRows >= this.options.maxRows ||
      now - oldest.enqueuedAt >= this.options.maxDelayMs
    );
  }

  private kick(): void {
    if (this.busy) return;
    if (this.jobs.length > 0 || this.due(performance.now())) {
      void this.run();
      return;
    }
    this.arm();
  }

  private arm(): void {
    const oldest = this.waiting[0];
    if (!oldest || this.timer) return;
    const wait = Math.max(0, this.options.maxDelayMs - (performance.now() - oldest.enqueuedAt));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, wait);
  }

  private async run(): Promise<void> {
    this.busy = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      for (;;) {
        const job = this.jobs.shift();
        if (job) {
          await job();
          continue;
        }
        if (!this.due(performance.now())) break;
        await this.commitSome();
      }
    } finally {
      this.busy = false;
    }
    this.arm();
  }

  private async commitSome(): Promise<void> {
    const taken: Waiting<T>[] = [];
    let rows = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (taken.length > 0 && rows + next.rows > this.options.maxRows) break;
      taken.push(next);
      rows += next.rows;
      this.waiting.shift();
    }
    this.waitingRows -= rows;
    const started = performance.now();
    try {
      await this.options.commit(taken);
    } catch (error) {
      for (const w of taken) w.settle.reject(error);
      return;
    }
    const elapsed = performance.now() - started;
    this.commits++;
    this.committedRows += rows;
    this.lastCommitMs = elapsed;
    const rate = rows / Math.max(elapsed / 1000, 1e-3);
    this.drainRate = this.drainRate === 0 ? rate : this.drainRate * 0.8 + rate * 0.2;
    for (const w of taken) w.settle.resolve();
  }
}

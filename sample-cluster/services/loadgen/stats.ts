import { RollingHistogram, type LatencySummary } from './histogram.ts';
import { OPERATIONS, type Operation } from './settings.ts';

/** How one request ended, as the simulated user saw it. */
export type Outcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly latencyMs: number;
      readonly degraded?: boolean;
      readonly detail?: string;
      /** The answer came but did not do the job (a login flow that ended on an unexpected page). */
      readonly failed?: boolean;
    }
  | { readonly kind: 'timeout' | 'network'; readonly latencyMs: number; readonly detail: string };

export interface RequestInfo {
  readonly method: string;
  readonly path: string;
}

export interface RecentError {
  readonly at: string;
  readonly operation: Operation;
  readonly method: string;
  readonly path: string;
  /** null when no answer came (timeout, refused connection). */
  readonly status: number | null;
  readonly kind: 'answer' | 'timeout' | 'network';
  readonly detail: string;
}

/** `other`: an answer below 400 that still failed the operation (a login that ended on an unexpected page). */
type ErrorClass = '4xx' | '5xx' | 'other' | 'timeout' | 'network';

class OperationStats {
  ok = 0;
  errors: Record<ErrorClass, number> = { '4xx': 0, '5xx': 0, other: 0, timeout: 0, network: 0 };
  byStatus: Record<string, number> = {};
  degraded = 0;
  retries = 0;
  readonly latency: RollingHistogram;

  constructor(now: () => number, windowMs: number) {
    this.latency = new RollingHistogram({ now, windowMs });
  }

  snapshot(): OperationSnapshot {
    return {
      ok: this.ok,
      errors: { ...this.errors },
      byStatus: { ...this.byStatus },
      degraded: this.degraded,
      retries: this.retries,
      latencyMs: this.latency.summary(),
    };
  }
}

export interface OperationSnapshot {
  readonly ok: number;
  readonly errors: Readonly<Record<ErrorClass, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  /** Answers the gateway served (partly) from a fallback. */
  readonly degraded: number;
  /** Repeated attempts (posts retried with the same Idempotency-Key). */
  readonly retries: number;
  readonly latencyMs: LatencySummary;
}

const RECENT_ERRORS = 20;

/**
 * Client-side view of the load: what each operation got back and how long it took, as a user of
 * the public API would measure it (this is what the Load view compares with server-side traces).
 */
export class LoadStats {
  readonly #now: () => number;
  readonly #windowMs: number;
  #since: number;
  #ops: Record<Operation, OperationStats>;
  #recent: RecentError[] = [];
  #streamEvents: Record<string, number> = {};
  tweetsReceived = 0;
  streamDisconnects = 0;

  constructor(options: { now?: () => number; windowMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#since = this.#now();
    this.#ops = this.#fresh();
  }

  /**
   * Count an outcome. `accept` lists 4xx statuses that are expected answers for this request
   * (409 on sign-up means the account is already there) and count as ok.
   */
  record(operation: Operation, request: RequestInfo, outcome: Outcome, accept: readonly number[] = []): void {
    const op = this.#ops[operation];
    op.latency.record(outcome.latencyMs);
    if (outcome.kind !== 'answer') {
      op.errors[outcome.kind] += 1;
      this.#remember(operation, request, null, outcome.kind, outcome.detail);
      return;
    }
    const { status } = outcome;
    op.byStatus[status] = (op.byStatus[status] ?? 0) + 1;
    if (outcome.degraded) op.degraded += 1;
    if (!outcome.failed && (status < 400 || accept.includes(status))) {
      op.ok += 1;
      return;
    }
    op.errors[status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'other'] += 1;
    this.#remember(operation, request, status, 'answer', outcome.detail ?? `HTTP ${status}`);
  }

  retried(operation: Operation): void {
    this.#ops[operation].retries += 1;
  }

  streamEvent(type: string, isTweet: boolean): void {
    this.#streamEvents[type] = (this.#streamEvents[type] ?? 0) + 1;
    if (isTweet) this.tweetsReceived += 1;
  }

  /** A failure that is not one HTTP request (a login flow that could not complete, say). */
  note(operation: Operation, request: RequestInfo, status: number | null, detail: string): void {
    this.#remember(operation, request, status, status === null ? 'network' : 'answer', detail);
  }

  reset(): void {
    this.#since = this.#now();
    this.#ops = this.#fresh();
    this.#recent = [];
    this.#streamEvents = {};
    this.tweetsReceived = 0;
    this.streamDisconnects = 0;
  }

  snapshot() {
    const operations = Object.fromEntries(OPERATIONS.map((o) => [o, this.#ops[o].snapshot()])) as Record<
      Operation,
      OperationSnapshot
    >;
    return {
      since: new Date(this.#since).toISOString(),
      operations,
      stream: {
        tweetsReceived: this.tweetsReceived,
        eventsByType: { ...this.#streamEvents },
        disconnects: this.streamDisconnects,
      },
      recentErrors: [...this.#recent].reverse(),
    };
  }

  #remember(
    operation: Operation,
    request: RequestInfo,
    status: number | null,
    kind: RecentError['kind'],
    detail: string,
  ): void {
    this.#recent.push({
      at: new Date(this.#now()).toISOString(),
      operation,
      method: request.method,
      path: request.path,
      status,
      kind,
      detail: detail.slice(0, 500),
    });
    if (this.#recent.length > RECENT_ERRORS) this.#recent.shift();
  }

  #fresh(): Record<Operation, OperationStats> {
    return Object.fromEntries(
      OPERATIONS.map((o) => [o, new OperationStats(this.#now, this.#windowMs)]),
    ) as Record<Operation, OperationStats>;
  }
}

export type LoadStatsSnapshot = ReturnType<LoadStats['snapshot']>;

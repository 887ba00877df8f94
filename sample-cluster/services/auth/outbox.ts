import type { Logger } from 'pino';
import type { Database } from '../../kit/storage.ts';

/** Part of the auth schema (migration 1). */
export const OUTBOX_SCHEMA_SQL = `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER
  );
  CREATE INDEX outbox_pending ON outbox (destination, id) WHERE delivered_at IS NULL;
`;

export interface OutboxMessage {
  readonly id: number;
  readonly destination: string;
  readonly event: string;
  readonly payload: unknown;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Failed attempts so far. */
  readonly attempts: number;
}

/**
 * Sends one message; resolves with the destination's HTTP status. A throw (unreachable, breaker
 * open, 5xx) means "try again later".
 */
export type Deliver = (message: OutboxMessage) => Promise<{ status: number }>;

export interface OutboxStats {
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  readonly parked: number;
}

interface Row {
  id: number;
  destination: string;
  event: string;
  payload: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
}

const BATCH = 50;
const KEEP_DELIVERED_MS = 24 * 3600_000;
/** Answers that may well succeed later; any other 4xx is a message the destination will never take. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/**
 * Transactional outbox: a message is written in the same SQLite transaction as the change it
 * reports, then delivered until the destination acknowledges it with a 2xx. Order is kept per
 * destination (a message waits for the ones before it); destinations are independent.
 */
export class Outbox {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #deliverers: Readonly<Record<string, Deliver>>;
  readonly #pollIntervalMs: number;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again: Promise<void> | undefined;
  #delivered = 0;
  #failedAttempts = 0;
  readonly #lastError = new Map<string, string>();

  constructor(options: {
    db: Database;
    log: Logger;
    /** One sender per destination name. */
    deliverers: Readonly<Record<string, Deliver>>;
    pollIntervalMs?: number;
    baseBackoffMs?: number;
    maxBackoffMs?: number;
  }) {
    this.#db = options.db;
    this.#log = options.log;
    this.#deliverers = options.deliverers;
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#baseBackoffMs = options.baseBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
  }

  /** Record a message. Call inside the transaction that makes the change it reports. */
  enqueue(destination: string, event: string, payload: unknown): number {
    if (!this.#deliverers[destination]) throw new Error(`outbox has no deliverer for "${destination}"`);
    const now = Date.now();
    const result = this.#db
      .prepare(
        'INSERT INTO outbox (destination, event, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(destination, event, JSON.stringify(payload), now, now);
    return Number(result.lastInsertRowid);
  }

  /** Deliver in the background until stopped; survives restarts because the rows do. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (!this.#running) void this.flush();
    }, this.#pollIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#again;
    await this.#running;
  }

  /**
   * Deliver every message that is due. A call made while a pass is running gets a fresh pass
   * after it, so a message enqueued just before is never skipped.
   */
  flush(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#deliverDue()
        // A database error must not end the dispatcher (or fail the caller): the rows stay pending.
        .catch((error: unknown) => this.#log.error({ err: error }, 'outbox pass failed'))
        .finally(() => {
          this.#running = undefined;
        });
      return this.#running;
    }
    this.#again ??= this.#running.then(() => {
      this.#again = undefined;
      return this.flush();
    });
    return this.#again;
  }

  /** Try to deliver now, waiting at most `ms`; true when nothing is left pending. */
  async flushWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.flush(), timeout]).finally(() => clearTimeout(timer));
    return this.stats().pending === 0;
  }

  stats(): OutboxStats {
    const pending = this.#db
      .prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL')
      .get() as { n: number; oldest: number | null };
    const parked = this.#db
      .prepare('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NOT NULL AND last_error IS NOT NULL')
      .get() as { n: number };
    return {
      pending: pending.n,
      oldestPendingAgeMs: pending.oldest === null ? 0 : Date.now() - pending.oldest,
      delivered: this.#delivered,
      failedAttempts: this.#failedAttempts,
      parked: parked.n,
    };
  }

  async #deliverDue(): Promise<void> {
    const destinations = this.#db
      .prepare('SELECT DISTINCT destination FROM outbox WHERE delivered_at IS NULL')
      .all() as Array<{ destination: string }>;
    await Promise.all(destinations.map(({ destination }) => this.#deliverDestination(destination)));
    this.#db
      .prepare('DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?')
      .run(Date.now() - KEEP_DELIVERED_MS);
  }

  async #deliverDestination(destination: string): Promise<void> {
    const deliver = this.#deliverers[destination];
    if (!deliver) return;
    const rows = this.#db
      .prepare(
        'SELECT id, destination, event, payload, created_at, attempts, next_attempt_at FROM outbox WHERE destination = ? AND delivered_at IS NULL ORDER BY id LIMIT ?',
      )
      .all(destination, BATCH) as unknown as Row[];
    for (const row of rows) {
      // The head of the queue is backing off: everything behind it waits too, to keep the order.
      if (row.next_attempt_at > Date.now()) return;
      if (!(await this.#deliverOne(deliver, row))) return;
    }
  }

  /** True when the message is done with (acknowledged or parked). */
  async #deliverOne(deliver: Deliver, row: Row): Promise<boolean> {
    const message: OutboxMessage = {
      id: row.id,
      destination: row.destination,
      event: row.event,
      payload: JSON.parse(row.payload) as unknown,
      createdAt: row.created_at,
      attempts: row.attempts,
    };
    let reason: string;
    try {
      const { status } = await deliver(message);
      if (status >= 200 && status < 300) {
        this.#db
          .prepare('UPDATE outbox SET delivered_at = ?, last_error = NULL WHERE id = ?')
          .run(Date.now(), row.id);
        this.#delivered += 1;
        if (this.#lastError.delete(row.destination))
          this.#log.info({ destination: row.destination }, 'outbox delivering again');
        return true;
      }
      if (status < 400 || status >= 500 || RETRYABLE_4XX.has(status)) {
        reason = `answered ${status}`;
      } else {
        // Retrying cannot fix a message the destination refuses; park it with the reason, visibly.
        this.#db
          .prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?')
          .run(Date.now(), `refused with ${status}`, row.id);
        this.#log.error(
          { outboxId: row.id, destination: row.destination, event: row.event, status },
          'outbox message refused by its destination; parked',
        );
        return true;
      }
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    const attempts = row.attempts + 1;
    const backoff = Math.min(this.#maxBackoffMs, this.#baseBackoffMs * 2 ** Math.min(attempts - 1, 16));
    const jittered = Math.round(backoff * (0.8 + Math.random() * 0.4));
    this.#db
      .prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?')
      .run(attempts, Date.now() + jittered, reason, row.id);
    this.#failedAttempts += 1;
    if (this.#lastError.get(row.destination) !== reason) {
      this.#log.warn(
        { destination: row.destination, outboxId: row.id, attempts, err: reason },
        'outbox delivery failed; will retry',
      );
      this.#lastError.set(row.destination, reason);
    }
    return false;
  }
}

import type { Logger } from 'pino';
import type { ServiceClient } from './service-client.ts';
import type { Database } from './storage.ts';

/**
 * The outbox table; add it to a service's migrations list. Published migrations embed this text,
 * so it never changes: a new column is a new migration in each service that has the table.
 */
export const OUTBOX_TABLE_SQL = `
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

export type OutboxPayload = Record<string, unknown>;

/** The event's name and its delivery id (stable across retries, so receivers can deduplicate). */
export interface OutboxEventInfo {
  readonly event: string;
  readonly eventId: string;
}

/** The call that delivers one message. */
export interface OutboxRequest {
  readonly method: 'POST' | 'PUT';
  readonly path: string;
  readonly body: unknown;
}

interface RouteBase {
  /** Service that receives the event. */
  readonly service: string;
  /** Deadline of one delivery attempt. */
  readonly timeoutMs?: number;
}

/** POST to `path`; the body is the event's payload plus its `event` name and `eventId`. */
export interface OutboxPostRoute extends RouteBase {
  readonly path: string;
}

/**
 * The route builds the call from the stored payload. A builder that throws is given a payload it
 * will never accept, so the message is parked rather than retried.
 */
export interface OutboxBuiltRoute extends RouteBase {
  readonly request: (payload: OutboxPayload, info: OutboxEventInfo) => OutboxRequest;
}

export type OutboxRoute = OutboxPostRoute | OutboxBuiltRoute;

export interface OutboxOptions {
  readonly db: Database;
  readonly client: ServiceClient;
  /** One route per destination name. */
  readonly routes: Readonly<Record<string, OutboxRoute>>;
  readonly log: Logger;
  readonly pollIntervalMs?: number;
  /** Wait after the first failed attempt; it doubles per attempt up to maxBackoffMs. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface OutboxStats {
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  /** Messages a destination refused (kept for a day with their reason in last_error). */
  readonly parked: number;
  readonly byDestination: Record<string, { pending: number; lastError: string | null }>;
}

interface Row {
  id: number;
  destination: string;
  event: string;
  payload: string;
  attempts: number;
  next_attempt_at: number;
}

const BATCH = 100;
const KEEP_DELIVERED_MS = 24 * 3600_000;
const DEFAULT_TIMEOUT_MS = 3_000;
/** Answers that may well succeed later; any other 4xx is a message the destination will never take. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

type Outcome = 'done' | 'retry';

/**
 * Transactional outbox: an event is written in the same transaction as the change it reports, then
 * delivered until the destination acknowledges it (2xx; a 4xx other than 408/409/425/429 is a poison
 * event and is parked, never retried in a hot loop). Order is kept per destination; destinations are
 * independent, so a dead timeline does not hold back realtime.
 */
export class Outbox {
  private readonly db: Database;
  private readonly client: ServiceClient;
  private readonly routes: Readonly<Record<string, OutboxRoute>>;
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private delivered = 0;
  private failedAttempts = 0;
  private readonly lastError = new Map<string, string | null>();
  private readonly stopObserving: (() => void) | undefined;

  constructor(options: OutboxOptions) {
    this.db = options.db;
    this.client = options.client;
    this.routes = options.routes;
    this.log = options.log;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.baseBackoffMs = options.baseBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    // Backlog and lag as metrics, when the service exports telemetry.
    this.stopObserving = this.client.telemetry?.observeOutbox(() => this.stats());
  }

  /** Record an event for every destination. Call inside the transaction that makes the change. */
  enqueue(
    event: string,
    payload: OutboxPayload,
    destinations: readonly string[] = Object.keys(this.routes),
  ): void {
    const now = Date.now();
    const insert = this.db.prepare(
      'INSERT INTO outbox (destination, event, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)',
    );
    for (const destination of destinations) {
      if (!this.routes[destination]) throw new Error(`outbox has no route for destination "${destination}"`);
      insert.run(destination, event, JSON.stringify(payload), now, now);
    }
  }

  /** Deliver in the background until stopped; survives restarts because the rows do. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) void this.flush();
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopObserving?.();
    await this.running;
  }

  /**
   * Deliver whatever is due now. A call during a pass asks for one more pass right after it, so an
   * event committed mid-pass is not left waiting for the next poll. Never rejects: a failed pass is
   * logged and its rows stay pending.
   */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.deliverDue();
          } catch (error) {
            this.log.error({ err: error }, 'outbox pass failed');
          }
        } while (this.again);
      } finally {
        // Cleared in the same tick as the last `again` check: a flush() arriving later starts a new pass.
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /**
   * Deliver now, waiting at most `ms`. True when nothing is pending for this outbox's destinations
   * by then; a destination that is down or backing off gives false. Never rejects.
   */
  async flushWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    try {
      await Promise.race([this.flush(), timeUp]);
      return this.pendingForRoutes() === 0;
    } catch (error) {
      this.log.error({ err: error }, 'outbox flush failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  stats(): OutboxStats {
    const rows = this.db
      .prepare(
        'SELECT destination, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL GROUP BY destination',
      )
      .all() as Array<{ destination: string; n: number; oldest: number }>;
    const parked = this.db
      .prepare('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NOT NULL AND last_error IS NOT NULL')
      .get() as { n: number };
    const byDestination: Record<string, { pending: number; lastError: string | null }> = {};
    for (const d of Object.keys(this.routes))
      byDestination[d] = { pending: 0, lastError: this.lastError.get(d) ?? null };
    let pending = 0;
    let oldest = Infinity;
    for (const r of rows) {
      pending += r.n;
      oldest = Math.min(oldest, r.oldest);
      byDestination[r.destination] = { pending: r.n, lastError: this.lastError.get(r.destination) ?? null };
    }
    return {
      pending,
      oldestPendingAgeMs: pending ? Date.now() - oldest : 0,
      delivered: this.delivered,
      failedAttempts: this.failedAttempts,
      parked: parked.n,
      byDestination,
    };
  }

  private pendingForRoutes(): number {
    const row = this.db
      .prepare(
        'SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL AND destination IN (SELECT value FROM json_each(?))',
      )
      .get(JSON.stringify(Object.keys(this.routes))) as { n: number };
    return row.n;
  }

  private async deliverDue(): Promise<void> {
    const destinations = this.db
      .prepare('SELECT DISTINCT destination FROM outbox WHERE delivered_at IS NULL')
      .all() as Array<{ destination: string }>;
    const deliveries: Array<Promise<void>> = [];
    for (const { destination } of destinations) {
      const route = this.routes[destination];
      if (route) deliveries.push(this.deliverDestination(destination, route));
    }
    await Promise.all(deliveries);
    this.db
      .prepare('DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?')
      .run(Date.now() - KEEP_DELIVERED_MS);
  }

  private async deliverDestination(destination: string, route: OutboxRoute): Promise<void> {
    const select = this.db.prepare(
      'SELECT id, destination, event, payload, attempts, next_attempt_at FROM outbox WHERE destination = ? AND delivered_at IS NULL ORDER BY id LIMIT ?',
    );
    for (;;) {
      const rows = select.all(destination, BATCH) as unknown as Row[];
      for (const row of rows) {
        // The head of the queue is backing off: everything behind it waits too, to keep the order.
        if (row.next_attempt_at > Date.now()) return;
        if ((await this.deliverOne(route, row)) === 'retry') return;
      }
      if (rows.length < BATCH) return;
    }
  }

  private async deliverOne(route: OutboxRoute, row: Row): Promise<Outcome> {
    let request: OutboxRequest;
    try {
      request = requestFor(route, row);
    } catch (error) {
      return this.park(
        row,
        `could not build the request: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    try {
      const result = await this.client.request(route.service, {
        method: request.method,
        path: request.path,
        body: request.body,
        timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      });
      if (result.status >= 200 && result.status < 300) {
        this.db
          .prepare(
            'UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?',
          )
          .run(Date.now(), row.id);
        this.delivered += 1;
        if (this.lastError.get(row.destination))
          this.log.info({ destination: row.destination }, 'outbox delivering again');
        this.lastError.set(row.destination, null);
        return 'done';
      }
      if (result.status < 400 || RETRYABLE_4XX.has(result.status))
        throw new Error(`${route.service} answered ${result.status}`);
      return this.park(row, `rejected with ${result.status}: ${JSON.stringify(result.body).slice(0, 500)}`);
    } catch (error) {
      return this.retryLater(row, error instanceof Error ? error.message : String(error));
    }
  }

  /** Retrying cannot fix a message the destination refuses: set it aside with the reason, visibly. */
  private park(row: Row, reason: string): Outcome {
    this.db
      .prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?')
      .run(Date.now(), reason, row.id);
    this.log.error(
      { outboxId: row.id, destination: row.destination, event: row.event, reason },
      'outbox event refused; parked',
    );
    this.client.telemetry?.outboxFailure({
      destination: row.destination,
      event: row.event,
      outboxId: row.id,
      attempts: row.attempts + 1,
      reason,
      parked: true,
    });
    return 'done';
  }

  private retryLater(row: Row, reason: string): Outcome {
    const attempts = row.attempts + 1;
    const backoff = this.baseBackoffMs * 2 ** Math.min(attempts - 1, 16);
    // Jitter spreads the retries of many instances after a shared outage.
    const wait = Math.min(this.maxBackoffMs, Math.round(backoff * (0.8 + Math.random() * 0.4)));
    this.db
      .prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?')
      .run(attempts, Date.now() + wait, reason, row.id);
    this.failedAttempts += 1;
    this.client.telemetry?.outboxFailure({
      destination: row.destination,
      event: row.event,
      outboxId: row.id,
      attempts,
      reason,
      parked: false,
    });
    if (this.lastError.get(row.destination) !== reason) {
      this.log.warn(
        { destination: row.destination, outboxId: row.id, attempts, err: reason },
        'outbox delivery failed; will retry',
      );
    }
    this.lastError.set(row.destination, reason);
    return 'retry';
  }
}

function requestFor(route: OutboxRoute, row: Row): OutboxRequest {
  const payload = JSON.parse(row.payload) as OutboxPayload;
  const info: OutboxEventInfo = { event: row.event, eventId: `${row.destination}-${row.id}` };
  if ('request' in route) return route.request(payload, info);
  return { method: 'POST', path: route.path, body: { ...payload, ...info } };
}

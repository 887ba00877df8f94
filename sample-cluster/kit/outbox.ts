import type { Logger } from 'pino';
import type { ServiceClient } from './service-client.ts';
import type { Database } from './storage.ts';

/** The outbox table; add it to a service's migrations list. */
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

export interface OutboxRoute {
  /** Service that receives the event. */
  readonly service: string;
  /** POST path on that service; the body is the event's payload plus its `event` name and `eventId`. */
  readonly path: string;
}

export interface OutboxStats {
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  readonly byDestination: Record<string, { pending: number; lastError: string | null }>;
}

interface Row {
  id: number;
  destination: string;
  event: string;
  payload: string;
  created_at: number;
  attempts: number;
}

const BATCH = 100;
const MAX_BACKOFF_MS = 5_000;
const POLL_MS = 250;
const KEEP_DELIVERED_MS = 24 * 3600_000;

/**
 * Transactional outbox: an event is written in the same transaction as the change it reports, then
 * delivered until the destination acknowledges it (2xx; a 4xx other than 409/429 is a poison event
 * and is parked, never retried in a hot loop). Order is kept per destination; destinations are
 * independent, so a dead timeline does not hold back realtime.
 */
export class Outbox {
  private readonly db: Database;
  private readonly client: ServiceClient;
  private readonly routes: Readonly<Record<string, OutboxRoute>>;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private delivered = 0;
  private failedAttempts = 0;
  private readonly lastError = new Map<string, string | null>();

  constructor(options: { db: Database; client: ServiceClient; routes: Readonly<Record<string, OutboxRoute>>; log: Logger }) {
    this.db = options.db;
    this.client = options.client;
    this.routes = options.routes;
    this.log = options.log;
  }

  /** Record an event for every destination. Call inside the transaction that makes the change. */
  enqueue(event: string, payload: Record<string, unknown>, destinations: readonly string[] = Object.keys(this.routes)): void {
    const now = Date.now();
    const insert = this.db.prepare('INSERT INTO outbox (destination, event, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)');
    for (const destination of destinations) {
      if (!this.routes[destination]) throw new Error(`outbox has no route for destination "${destination}"`);
      insert.run(destination, event, JSON.stringify(payload), now, now);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * Deliver whatever is due now. A call during a pass asks for one more pass right after it, so an
   * event committed mid-pass is not left waiting for the next poll.
   */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.deliverDue();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async deliverDue(): Promise<void> {
    const now = Date.now();
    const destinations = this.db
      .prepare('SELECT DISTINCT destination FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ?')
      .all(now) as Array<{ destination: string }>;
    await Promise.all(destinations.map(({ destination }) => this.deliverDestination(destination)));
    this.db.prepare('DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(now - KEEP_DELIVERED_MS);
  }

  private async deliverDestination(destination: string): Promise<void> {
    const route = this.routes[destination];
    if (!route) return;
    const rows = this.db
      .prepare('SELECT id, destination, event, payload, created_at, attempts FROM outbox WHERE destination = ? AND delivered_at IS NULL ORDER BY id LIMIT ?')
      .all(destination, BATCH) as unknown as Row[];
    for (const row of rows) {
      const outcome = await this.deliverOne(route, row);
      if (outcome === 'retry') return; // keep per-destination order: later events wait for this one
    }
  }

  private async deliverOne(route: OutboxRoute, row: Row): Promise<'done' | 'retry'> {
    try {
      const payload = JSON.parse(row.payload) as Record<string, unknown>;
      const result = await this.client.request(route.service, {
        method: 'POST',
        path: route.path,
        body: { ...payload, event: row.event, eventId: `${row.destination}-${row.id}` },
        timeoutMs: 3_000,
      });
      if (result.status >= 200 && result.status < 300) {
        this.db.prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(Date.now(), row.id);
        this.delivered += 1;
        this.lastError.set(row.destination, null);
        return 'done';
      }
      if (result.status === 409 || result.status === 429) throw new Error(`${route.service} answered ${result.status}`);
      // A 4xx other than those will not get better by retrying: park it with its reason.
      this.db
        .prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?')
        .run(Date.now(), `rejected with ${result.status}: ${JSON.stringify(result.body).slice(0, 500)}`, row.id);
      this.log.error({ outboxId: row.id, destination: row.destination, status: result.status }, 'outbox event rejected by destination; parked');
      return 'done';
    } catch (error) {
      const attempts = row.attempts + 1;
      const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempts, 10));
      const message = error instanceof Error ? error.message : String(error);
      this.db.prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?').run(attempts, Date.now() + backoff, message, row.id);
      this.failedAttempts += 1;
      if (this.lastError.get(row.destination) !== message) this.log.warn({ destination: row.destination, err: message }, 'outbox delivery failed; will retry');
      this.lastError.set(row.destination, message);
      return 'retry';
    }
  }

  stats(): OutboxStats {
    const rows = this.db
      .prepare('SELECT destination, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL GROUP BY destination')
      .all() as Array<{ destination: string; n: number; oldest: number }>;
    const byDestination: Record<string, { pending: number; lastError: string | null }> = {};
    for (const d of Object.keys(this.routes)) byDestination[d] = { pending: 0, lastError: this.lastError.get(d) ?? null };
    let pending = 0;
    let oldest = Infinity;
    for (const r of rows) {
      pending += r.n;
      oldest = Math.min(oldest, r.oldest);
      byDestination[r.destination] = { pending: r.n, lastError: this.lastError.get(r.destination) ?? null };
    }
    return { pending, oldestPendingAgeMs: pending ? Date.now() - oldest : 0, delivered: this.delivered, failedAttempts: this.failedAttempts, byDestination };
  }
}

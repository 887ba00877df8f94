import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerRegistry } from './breaker.ts';
import { baseConfigSchema, loadConfig } from './config.ts';
import { createDiscovery } from './discovery.ts';
import type { Discovery } from './discovery-types.ts';
import { Outbox, OUTBOX_TABLE_SQL, type OutboxRoute } from './outbox.ts';
import { ServiceClient } from './service-client.ts';
import { openDatabase, transaction, type Database } from './storage.ts';
import { freePort, tempDir, testEnv, waitFor } from './testing.ts';

// The kit may not import services, so there is no registry here: discovery runs in DNS mode
// ("localhost" on the destination's port), which is real discovery all the same.

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const MIGRATIONS = [{ version: 1, name: 'outbox', up: OUTBOX_TABLE_SQL }];

interface Received {
  readonly method: string;
  readonly url: string;
  readonly body: Record<string, unknown>;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly delayMs?: number;
}

/** A real HTTP destination on a fixed loopback port, so it can go away and come back. */
class Destination {
  readonly port: number;
  readonly received: Received[] = [];
  /** How each request is answered; 204 unless a test says otherwise. */
  answer: (request: Received) => Answer = () => ({ status: 204 });
  #app: FastifyInstance | undefined;

  constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<Destination> {
    const destination = new Destination(await freePort());
    await destination.up();
    return destination;
  }

  async up(): Promise<void> {
    const app = Fastify({ logger: false });
    app.route({
      method: ['POST', 'PUT'],
      url: '/*',
      handler: async (request, reply) => {
        const received = {
          method: request.method,
          url: request.url,
          body: request.body as Record<string, unknown>,
        };
        this.received.push(received);
        const answer = this.answer(received);
        if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        return reply.code(answer.status).send(answer.body);
      },
    });
    await app.listen({ host: '127.0.0.1', port: this.port });
    this.#app = app;
  }

  async down(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }

  bodies(path?: string): Array<Record<string, unknown>> {
    return this.received.filter((r) => path === undefined || r.url === path).map((r) => r.body);
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function clientFor(port: number): ServiceClient {
  const config = loadConfig(
    baseConfigSchema,
    testEnv('tweets', { DISCOVERY: 'dns', DNS_HOST_TEMPLATE: 'localhost', DNS_PORT: String(port) }),
  );
  const discovery: Discovery = createDiscovery(config, log);
  cleanups.push(() => discovery.stop());
  const breakers = new BreakerRegistry('tweets');
  // An open breaker would make the "comes back" tests wait out the default 3 s.
  breakers.setDefaults({ resetTimeoutMs: 200 });
  return new ServiceClient({ caller: 'tweets', discovery, breakers, log });
}

function setup(
  destination: Destination,
  routes: Record<string, OutboxRoute> = {
    timeline: { service: 'timeline', path: '/v1/events/tweet-posted' },
  },
  db: Database = openDatabase(':memory:', MIGRATIONS),
) {
  const outbox = new Outbox({
    db,
    client: clientFor(destination.port),
    routes,
    log,
    pollIntervalMs: 20,
    baseBackoffMs: 20,
    maxBackoffMs: 100,
  });
  cleanups.push(() => db.isOpen && db.close());
  cleanups.push(() => outbox.stop());
  return { db, outbox };
}

function enqueue(db: Database, outbox: Outbox, ...payloads: Array<Record<string, unknown>>): void {
  transaction(db, () => {
    for (const payload of payloads) outbox.enqueue('tweet.posted', payload);
  });
}

interface OutboxRow {
  id: number;
  attempts: number;
  last_error: string | null;
  delivered_at: number | null;
}

function rows(db: Database): OutboxRow[] {
  return db
    .prepare('SELECT id, attempts, last_error, delivered_at FROM outbox ORDER BY id')
    .all() as unknown as OutboxRow[];
}

describe('Outbox', () => {
  it('POSTs the payload with its event name and id, in order, and marks the events delivered', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 }, { n: 2 }, { n: 3 });

    expect(await outbox.flushWithin(2_000)).toBe(true);
    expect(destination.received.map((r) => [r.method, r.url])).toEqual(
      Array(3).fill(['POST', '/v1/events/tweet-posted']),
    );
    expect(destination.bodies()).toEqual([
      { n: 1, event: 'tweet.posted', eventId: 'timeline-1' },
      { n: 2, event: 'tweet.posted', eventId: 'timeline-2' },
      { n: 3, event: 'tweet.posted', eventId: 'timeline-3' },
    ]);
    expect(outbox.stats()).toMatchObject({ pending: 0, delivered: 3, parked: 0, failedAttempts: 0 });
  });

  it('writes nothing when the surrounding transaction rolls back', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    const { db, outbox } = setup(destination);
    expect(() =>
      transaction(db, () => {
        outbox.enqueue('tweet.posted', { n: 1 });
        throw new Error('the change failed');
      }),
    ).toThrow('the change failed');
    expect(rows(db)).toEqual([]);
  });

  it('refuses an event for a destination it has no route for', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    const { db, outbox } = setup(destination);
    expect(() => transaction(db, () => outbox.enqueue('x', {}, ['nowhere']))).toThrow(
      /no route for destination "nowhere"/,
    );
  });

  it('keeps retrying while the destination is down and delivers everything, in order, once it is back', async () => {
    const destination = new Destination(await freePort());
    cleanups.push(() => destination.down());
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 }, { n: 2 });

    expect(await outbox.flushWithin(300)).toBe(false);
    outbox.start();
    const stuck = await waitFor(() => (outbox.stats().failedAttempts >= 3 ? outbox.stats() : undefined), {
      what: 'repeated failed attempts',
    });
    expect(stuck.byDestination.timeline).toMatchObject({ pending: 2, lastError: expect.any(String) });
    enqueue(db, outbox, { n: 3 });

    await destination.up();
    await waitFor(() => outbox.stats().pending === 0, { what: 'an empty outbox' });
    expect(destination.bodies().map((b) => b.n)).toEqual([1, 2, 3]);
    expect(outbox.stats().byDestination.timeline?.lastError).toBeNull();
  });

  it('waits between attempts, backing off up to its cap', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    destination.answer = () => ({ status: 503 });
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 });
    outbox.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await outbox.stop();
    // 20, 40, 80, then 100 ms at most (±20%): about 15 attempts in 1.5 s. A hot loop would make one
    // per 20 ms poll (75); an uncapped doubling only 7.
    const { failedAttempts } = outbox.stats();
    expect(failedAttempts).toBeGreaterThanOrEqual(10);
    expect(failedAttempts).toBeLessThanOrEqual(25);
  });

  it('picks up undelivered events after a restart', async () => {
    const destination = new Destination(await freePort());
    cleanups.push(() => destination.down());
    const path = join(tempDir('outbox'), 'outbox.db');
    const first = setup(destination, undefined, openDatabase(path, MIGRATIONS));
    enqueue(first.db, first.outbox, { n: 1 });
    expect(await first.outbox.flushWithin(200)).toBe(false);
    await first.outbox.stop();
    first.db.close();

    await destination.up();
    const second = setup(destination, undefined, openDatabase(path, MIGRATIONS));
    second.outbox.start();
    await waitFor(() => second.outbox.stats().pending === 0, {
      what: 'the event delivered after the restart',
    });
    expect(destination.bodies()).toEqual([{ n: 1, event: 'tweet.posted', eventId: 'timeline-1' }]);
  });

  it('parks an event the destination refuses with a 4xx, with the reason, and delivers the ones after it', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    destination.answer = (r) =>
      r.body.n === 2
        ? { status: 422, body: { title: 'Unprocessable', detail: 'text is too long' } }
        : { status: 201 };
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 }, { n: 2 }, { n: 3 });
    outbox.start();

    await waitFor(() => outbox.stats().pending === 0, { what: 'an empty outbox' });
    // Parked, not retried in a loop.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(destination.bodies().map((b) => b.n)).toEqual([1, 2, 3]);
    expect(outbox.stats()).toMatchObject({ pending: 0, delivered: 2, parked: 1 });
    const parked = rows(db)[1];
    expect(parked?.delivered_at).not.toBeNull();
    expect(parked?.last_error).toMatch(/^rejected with 422: .*text is too long/);
  });

  it('retries 409 and 429 answers instead of parking them', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    const answers = [409, 429, 409];
    destination.answer = () => ({ status: answers.shift() ?? 200 });
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 }, { n: 2 });
    outbox.start();

    await waitFor(() => outbox.stats().pending === 0, { what: 'an empty outbox' });
    // The first event was tried four times; the second waited behind it and went through once.
    expect(destination.bodies().map((b) => b.n)).toEqual([1, 1, 1, 1, 2]);
    expect(outbox.stats()).toMatchObject({ delivered: 2, parked: 0, failedAttempts: 3 });
    expect(rows(db).map((r) => r.last_error)).toEqual([null, null]);
  });

  it('flushWithin gives up after its time, saying false, and never throws', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    destination.answer = () => ({ status: 200, delayMs: 1_500 });
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 });

    const started = Date.now();
    expect(await outbox.flushWithin(200)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);

    // The slow delivery still completes; then there is nothing left to wait for.
    await outbox.flush();
    expect(await outbox.flushWithin(200)).toBe(true);

    db.close();
    expect(await outbox.flushWithin(200)).toBe(false);
  });

  it('runs another pass when a flush is asked for during one, so an event committed mid-pass is not left waiting', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    destination.answer = (r) => ({ status: 200, delayMs: r.body.n === 1 ? 200 : 0 });
    const { db, outbox } = setup(destination);
    enqueue(db, outbox, { n: 1 });
    const firstPass = outbox.flush();
    await waitFor(() => destination.received.length === 1, { what: 'the first delivery in flight' });

    enqueue(db, outbox, { n: 2 });
    await outbox.flush();
    await firstPass;
    expect(destination.bodies().map((b) => b.n)).toEqual([1, 2]);
    expect(outbox.stats().pending).toBe(0);
  });

  it('keeps destinations independent: one that fails does not hold back another', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    let timelineUp = false;
    destination.answer = (r) => (r.url === '/timeline' && !timelineUp ? { status: 503 } : { status: 204 });
    const { db, outbox } = setup(destination, {
      timeline: { service: 'timeline', path: '/timeline' },
      realtime: { service: 'realtime', path: '/realtime' },
    });
    enqueue(db, outbox, { n: 1 }, { n: 2 });
    outbox.start();

    await waitFor(() => destination.bodies('/realtime').length === 2, { what: 'both events at realtime' });
    const stats = outbox.stats();
    expect(stats.byDestination.realtime).toEqual({ pending: 0, lastError: null });
    expect(stats.byDestination.timeline).toMatchObject({
      pending: 2,
      lastError: expect.stringContaining('timeline'),
    });
    expect(await outbox.flushWithin(100)).toBe(false);

    timelineUp = true;
    await waitFor(() => outbox.stats().pending === 0, { what: 'timeline caught up' });
    const delivered = destination.received.filter((r) => r.url === '/timeline');
    expect(delivered.at(-2)?.body).toMatchObject({ n: 1, eventId: 'timeline-1' });
    expect(delivered.at(-1)?.body).toMatchObject({ n: 2, eventId: 'timeline-3' });
  });

  it('delivers with the call a route builds from the payload (PUT), and parks a payload the route cannot use', async () => {
    const destination = await Destination.start();
    cleanups.push(() => destination.down());
    const { db, outbox } = setup(destination, {
      users: {
        service: 'users',
        request: (payload, { event, eventId }) => {
          if (typeof payload.handle !== 'string') throw new Error('a profile needs a handle');
          return {
            method: 'PUT',
            path: `/v1/users/${encodeURIComponent(payload.handle)}`,
            body: { handle: payload.handle, displayName: payload.displayName, reason: event, id: eventId },
          };
        },
      },
    });
    transaction(db, () => {
      outbox.enqueue('account.created', { handle: 'alice', displayName: 'Alice', password: 'never sent' });
      outbox.enqueue('account.created', { displayName: 'Nobody' });
      outbox.enqueue('account.created', { handle: 'bob', displayName: 'Bob' });
    });

    expect(await outbox.flushWithin(2_000)).toBe(true);
    expect(destination.received).toEqual([
      {
        method: 'PUT',
        url: '/v1/users/alice',
        body: { handle: 'alice', displayName: 'Alice', reason: 'account.created', id: 'users-1' },
      },
      {
        method: 'PUT',
        url: '/v1/users/bob',
        body: { handle: 'bob', displayName: 'Bob', reason: 'account.created', id: 'users-3' },
      },
    ]);
    expect(rows(db)[1]?.last_error).toBe('could not build the request: a profile needs a handle');
    expect(outbox.stats()).toMatchObject({ pending: 0, delivered: 2, parked: 1 });
  });
});

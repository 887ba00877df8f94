import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, transaction, type Database } from '../../kit/storage.ts';
import { AUTH_MIGRATIONS } from './database.ts';
import { Outbox, type Deliver, type OutboxMessage } from './outbox.ts';

const log = pino({ level: 'silent' });
const opened: Array<{ db: Database; outbox?: Outbox }> = [];

function setup(deliver: Deliver, db = openDatabase(':memory:', AUTH_MIGRATIONS)) {
  const outbox = new Outbox({
    db,
    log,
    deliverers: { users: deliver },
    pollIntervalMs: 20,
    baseBackoffMs: 20,
    maxBackoffMs: 100,
  });
  opened.push({ db, outbox });
  return { db, outbox };
}

afterEach(async () => {
  for (const { outbox } of opened.splice(0)) await outbox?.stop();
});

function pendingRows(db: Database): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL').get() as { n: number }).n;
}

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('auth outbox', () => {
  it('delivers a message written in a transaction and marks it delivered', async () => {
    const seen: OutboxMessage[] = [];
    const { db, outbox } = setup(async (message) => {
      seen.push(message);
      return { status: 201 };
    });
    transaction(db, () => outbox.enqueue('users', 'account.created', { handle: 'alice' }));
    expect(await outbox.flushWithin(1_000)).toBe(true);
    expect(seen).toMatchObject([
      { destination: 'users', event: 'account.created', payload: { handle: 'alice' }, attempts: 0 },
    ]);
    expect(outbox.stats()).toMatchObject({ pending: 0, delivered: 1 });
  });

  it('writes nothing when the surrounding transaction rolls back', () => {
    const { db, outbox } = setup(async () => ({ status: 200 }));
    expect(() =>
      transaction(db, () => {
        outbox.enqueue('users', 'account.created', { handle: 'alice' });
        throw new Error('the change failed');
      }),
    ).toThrow('the change failed');
    expect(pendingRows(db)).toBe(0);
  });

  it('retries with backoff until the destination acknowledges, keeping the order', async () => {
    let failuresLeft = 3;
    const delivered: unknown[] = [];
    const { db, outbox } = setup(async (message) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('users is unavailable');
      }
      delivered.push(message.payload);
      return { status: 200 };
    });
    transaction(db, () => {
      outbox.enqueue('users', 'account.created', { n: 1 });
      outbox.enqueue('users', 'account.created', { n: 2 });
    });
    expect(await outbox.flushWithin(200)).toBe(false);
    outbox.start();
    await until(() => pendingRows(db) === 0);
    expect(delivered).toEqual([{ n: 1 }, { n: 2 }]);
    expect(outbox.stats().failedAttempts).toBe(3);
  });

  it('treats 429 and 5xx-like answers as retryable and parks a message the destination refuses', async () => {
    const answers = [429, 400];
    const { db, outbox } = setup(async () => ({ status: answers.shift() ?? 200 }));
    transaction(db, () => outbox.enqueue('users', 'account.created', { n: 1 }));
    outbox.start();
    await until(() => pendingRows(db) === 0);
    expect(outbox.stats()).toMatchObject({ pending: 0, parked: 1, delivered: 0 });
    const row = db.prepare('SELECT attempts, last_error FROM outbox').get() as {
      attempts: number;
      last_error: string;
    };
    expect(row).toEqual({ attempts: 2, last_error: 'refused with 400' });
  });

  it('picks up undelivered messages after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaoscope-auth-outbox-'));
    try {
      const path = join(dir, 'auth.db');
      const first = setup(
        async () => {
          throw new Error('down');
        },
        openDatabase(path, AUTH_MIGRATIONS),
      );
      transaction(first.db, () => first.outbox.enqueue('users', 'account.created', { handle: 'alice' }));
      await first.outbox.flushWithin(100);
      await first.outbox.stop();
      first.db.close();

      const delivered: unknown[] = [];
      const second = setup(
        async (message) => {
          delivered.push(message.payload);
          return { status: 200 };
        },
        openDatabase(path, AUTH_MIGRATIONS),
      );
      second.outbox.start();
      await until(() => delivered.length === 1);
      await second.outbox.stop();
      second.db.close();
      expect(delivered).toEqual([{ handle: 'alice' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a destination it has no deliverer for', () => {
    const { db, outbox } = setup(async () => ({ status: 200 }));
    expect(() => transaction(db, () => outbox.enqueue('nowhere', 'x', {}))).toThrow(/no deliverer/);
  });
});

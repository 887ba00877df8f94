import { describe, expect, it } from 'vitest';
import { TickScheduler } from './scheduler.ts';

/** A task whose runs stay open until the test lets them finish. */
function heldTask() {
  const releases: Array<() => void> = [];
  let started = 0;
  return {
    task: () =>
      new Promise<void>((resolve) => {
        started += 1;
        releases.push(resolve);
      }),
    releaseAll: () => releases.splice(0).forEach((r) => r()),
    get started() {
      return started;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('TickScheduler', () => {
  it('starts ratePerSecond ticks per second, fractional rates included', async () => {
    let now = 0;
    let runs = 0;
    const s = new TickScheduler({
      ratePerSecond: 10,
      maxInFlight: 100,
      now: () => now,
      task: async () => void (runs += 1),
    });
    s.pump(0);
    for (let t = 20; t <= 5_000; t += 20) s.pump((now = t));
    await s.drain();
    expect(runs).toBe(50);

    s.configure({ ratePerSecond: 0.5 });
    for (let t = 5_020; t <= 9_000; t += 20) s.pump((now = t));
    await s.drain();
    expect(runs).toBe(52);
  });

  it('never has more than maxInFlight running: extra ticks are skipped and counted, not queued', async () => {
    let now = 0;
    const held = heldTask();
    const s = new TickScheduler({ ratePerSecond: 100, maxInFlight: 5, now: () => now, task: held.task });
    s.pump(0);
    for (let t = 10; t <= 1_000; t += 10) {
      s.pump((now = t));
      expect(s.inFlight).toBeLessThanOrEqual(5);
    }
    await flush();
    expect(held.started).toBe(5);
    expect(s.counts()).toEqual({ started: 5, skipped: 95, inFlight: 5 });

    // Once the slow requests end, ticks flow again at the same rate: no backlog bursts out.
    held.releaseAll();
    await flush();
    expect(s.inFlight).toBe(0);
    s.pump((now = 1_030));
    await flush();
    expect(s.counts().started).toBe(8);
    expect(s.inFlight).toBe(3);
  });

  it('turns a stalled event loop into at most one second of ticks', async () => {
    let now = 0;
    let runs = 0;
    const s = new TickScheduler({
      ratePerSecond: 20,
      maxInFlight: 1_000,
      now: () => now,
      task: async () => void (runs += 1),
    });
    s.pump(0);
    s.pump((now = 30_000));
    await s.drain();
    expect(runs).toBe(20);
  });

  it('reports a failing task and keeps going', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const s = new TickScheduler({
      ratePerSecond: 10,
      maxInFlight: 10,
      now: () => now,
      task: async () => {
        throw new Error('boom');
      },
      onError: (e) => errors.push(e),
    });
    s.pump(0);
    s.pump((now = 300));
    await s.drain();
    expect(errors).toHaveLength(3);
    expect(s.inFlight).toBe(0);
  });

  it('runs on its own timer between start and stop, and drain waits for running ticks', async () => {
    const held = heldTask();
    const s = new TickScheduler({ ratePerSecond: 200, maxInFlight: 3, intervalMs: 5, task: held.task });
    s.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    s.stop();
    expect(s.running).toBe(false);
    expect(held.started).toBe(3);
    expect(s.counts().skipped).toBeGreaterThan(0);
    let drained = false;
    const drain = s.drain().then(() => (drained = true));
    await flush();
    expect(drained).toBe(false);
    held.releaseAll();
    await drain;
    expect(s.inFlight).toBe(0);
  });
});

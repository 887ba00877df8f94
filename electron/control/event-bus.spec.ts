import { describe, expect, it } from 'vitest';
import type { EventBatch } from '../api/events.ts';
import { EventBus } from './event-bus.ts';

const at = '2026-01-01T00:00:00.000Z';
const notice = (message: string) => ({ level: 'info' as const, message, at });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('EventBus', () => {
  it('batches happenings in order and coalesces state topics to their latest value', async () => {
    const bus = new EventBus({ intervalMs: 20 });
    const batches: EventBatch[] = [];
    bus.subscribe((b) => batches.push(b));
    for (let i = 0; i < 5; i++) bus.publish('control.notice', notice(`n${i}`));
    bus.publish('cluster.status', { status: null });
    bus.publish('breaker.snapshot', { breakers: [] });
    bus.publish('cluster.status', { status: null });
    await tick(60);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.seq).toBe(1);
    const topics = batches[0]!.events.map((e) => e.topic);
    expect(topics.filter((t) => t === 'cluster.status')).toHaveLength(1);
    expect(
      batches[0]!.events
        .filter((e) => e.topic === 'control.notice')
        .map((e) => (e.data as { message: string }).message),
    ).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    bus.close();
  });

  it('replays the latest state to a newcomer first, numbered per subscriber', async () => {
    const bus = new EventBus({ intervalMs: 10 });
    bus.publish('cluster.status', { status: null });
    const late: EventBatch[] = [];
    bus.subscribe((b) => late.push(b));
    await tick();
    expect(late[0]).toMatchObject({ seq: 1, events: [{ topic: 'cluster.status', data: { status: null } }] });
    bus.publish('control.notice', notice('after'));
    await tick(40);
    expect(late.map((b) => b.seq)).toEqual([1, 2]);
    bus.close();
  });

  it('refuses payloads outside the contract where they are made', () => {
    const invalid: string[] = [];
    const bus = new EventBus({ onInvalid: (topic) => invalid.push(topic) });
    bus.subscribe(() => undefined);
    // @ts-expect-error wrong payload on purpose
    bus.publish('control.notice', { level: 'loud' });
    expect(invalid).toEqual(['control.notice']);
    bus.close();
  });

  it('caps a batch and counts what was left out; tells when the first and last subscriber come and go', async () => {
    const active: boolean[] = [];
    const bus = new EventBus({ intervalMs: 10, onActive: (a) => active.push(a) });
    const batches: EventBatch[] = [];
    const off = bus.subscribe((b) => batches.push(b));
    for (let i = 0; i < 2_100; i++) bus.publish('control.notice', notice(String(i)));
    await tick(40);
    expect(batches[0]!.events).toHaveLength(2_000);
    expect(batches[0]!.dropped).toBe(100);
    off();
    expect(active).toEqual([true, false]);
    bus.close();
  });
});

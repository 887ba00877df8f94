import { describe, expect, it } from 'vitest';
import { InstanceStore, RegistryFullError, type StoreChange } from './instance-store.ts';

// The store takes its clock as a parameter so TTL arithmetic can be checked to the millisecond.
function storeAt(start = 1_000_000, options: { maxInstances?: number } = {}) {
  let now = start;
  const store = new InstanceStore({ now: () => now, ...options });
  const changes: StoreChange[] = [];
  store.onChange((change) => changes.push(change));
  return { store, changes, advance: (ms: number) => (now += ms) };
}

const users = { address: '127.0.0.1:7001', meta: {}, ttlSeconds: 2 };

describe('InstanceStore', () => {
  it('expires an instance exactly when its TTL runs out, even before the sweep', () => {
    const { store, changes, advance } = storeAt();
    store.register('users', 'u1', users);
    advance(1_999);
    expect(store.list('users')).toHaveLength(1);
    advance(1);
    expect(store.list('users')).toEqual([]);
    expect(store.heartbeat('users', 'u1')).toBeUndefined();
    expect(changes.map((c) => c.type)).toEqual(['registered', 'evicted']);
    expect(store.sweep()).toEqual([]);
  });

  it('announces a re-registration only when the address or meta changed', () => {
    const { store, changes } = storeAt();
    expect(store.register('users', 'u1', users).created).toBe(true);
    expect(store.register('users', 'u1', users).created).toBe(false);
    store.register('users', 'u1', { ...users, address: '127.0.0.1:7002' });
    store.register('users', 'u1', { ...users, address: '127.0.0.1:7002', meta: { zone: 'a' } });
    expect(changes.map((c) => c.type)).toEqual(['registered', 'registered', 'registered']);
  });

  it('gives restored instances one fresh TTL and keeps their real last heartbeat', () => {
    const { store, advance } = storeAt(5_000_000);
    const record = {
      id: 'u1',
      service: 'users',
      address: '127.0.0.1:7001',
      meta: {},
      registeredAt: 1_000,
      lastHeartbeat: 2_000,
      ttlSeconds: 2,
    };
    expect(store.restore([record])).toBe(1);
    expect(store.list('users')[0]?.lastHeartbeat).toBe(new Date(2_000).toISOString());
    advance(1_500);
    expect(store.heartbeat('users', 'u1')).toBeDefined();
    advance(2_500);
    expect(store.sweep().map((i) => i.id)).toEqual(['u1']);
  });

  it('refuses new instances beyond its bound but still accepts re-registrations', () => {
    const { store } = storeAt(0, { maxInstances: 1 });
    store.register('users', 'u1', users);
    expect(() => store.register('users', 'u2', users)).toThrow(RegistryFullError);
    expect(store.register('users', 'u1', users).created).toBe(false);
    store.deregister('users', 'u1');
    expect(store.register('users', 'u2', users).created).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { Lru } from './lru.ts';

describe('Lru', () => {
  it('returns what was stored and undefined for what was not', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.size).toBe(1);
  });

  it('evicts the least recently set entry once it holds more than its maximum', () => {
    const lru = new Lru<string, number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) lru.set(key, i);
    expect(lru.size).toBe(3);
    expect(lru.get('a')).toBeUndefined();
    expect([lru.get('b'), lru.get('c'), lru.get('d')]).toEqual([1, 2, 3]);
  });

  it('counts a read as a use: the entry read survives and the next oldest goes', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1);
    lru.set('d', 4);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.get('d')).toBe(4);
  });

  it('counts overwriting as a use and keeps one entry per key', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    lru.set('a', 10);
    expect(lru.size).toBe(3);
    lru.set('d', 4);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(10);
  });

  it('a miss does not disturb the order', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('zzz')).toBeUndefined();
    lru.set('c', 3);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('b')).toBe(2);
  });

  it('deletes one entry, and clears all of them', () => {
    const lru = new Lru<string, number>(5);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.delete('a');
    lru.delete('not-there');
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('b')).toBe(2);
    expect(lru.size).toBe(1);
    lru.set('c', 3);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('c')).toBeUndefined();
    // Still usable, with its full capacity, after clear().
    for (let i = 0; i < 5; i++) lru.set(`k${i}`, i);
    expect(lru.size).toBe(5);
    expect(lru.get('k0')).toBe(0);
  });

  it('with a maximum of one keeps only the latest entry', () => {
    const lru = new Lru<string, string>(1);
    lru.set('a', 'x');
    lru.set('b', 'y');
    expect(lru.size).toBe(1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('b')).toBe('y');
  });
});

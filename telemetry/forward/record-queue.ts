/**
 * The bounded queue in front of one forwarding target. Bounded in records (spans, data points, log
 * records: what a user thinks in), not in requests. When full, the oldest records go first: a
 * target that was down for a while gets the most recent data when it comes back, which is what
 * someone looking at it then wants.
 */
import type { Signal } from '../collector/otlp-protobuf.ts';

export interface Chunk {
  readonly signal: Signal;
  readonly records: readonly unknown[];
}

export class RecordQueue {
  private chunks: Chunk[] = [];
  private head = 0;
  private count = 0;

  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.count;
  }

  /** Appends; returns how many of the oldest records were dropped to stay within the limit. */
  push(chunk: Chunk): number {
    if (chunk.records.length === 0) return 0;
    this.chunks.push(chunk);
    this.count += chunk.records.length;
    return this.trim();
  }

  /** Puts records that could not be sent back in front (they are the oldest); returns the drops. */
  unshift(chunk: Chunk): number {
    if (chunk.records.length === 0) return 0;
    if (this.head > 0) this.chunks[--this.head] = chunk;
    else this.chunks.unshift(chunk);
    this.count += chunk.records.length;
    return this.trim();
  }

  /**
   * Up to `max` of the oldest records, all of one signal (one request carries one signal): the
   * head chunk's signal, merged with the chunks after it while they have the same signal.
   */
  take(max: number): Chunk | null {
    const first = this.chunks[this.head];
    if (!first) return null;
    const records: unknown[] = [];
    while (records.length < max) {
      const chunk = this.chunks[this.head];
      if (!chunk || chunk.signal !== first.signal) break;
      const room = max - records.length;
      if (chunk.records.length <= room) {
        for (const r of chunk.records) records.push(r);
        this.chunks[this.head++] = undefined as unknown as Chunk;
      } else {
        for (let i = 0; i < room; i++) records.push(chunk.records[i]);
        this.chunks[this.head] = { signal: chunk.signal, records: chunk.records.slice(room) };
      }
    }
    this.count -= records.length;
    this.compact();
    return { signal: first.signal, records };
  }

  /** Empties the queue; returns how many records it held. */
  clear(): number {
    const n = this.count;
    this.chunks = [];
    this.head = 0;
    this.count = 0;
    return n;
  }

  private trim(): number {
    let excess = this.count - this.limit;
    let dropped = 0;
    while (excess > 0) {
      const chunk = this.chunks[this.head]!;
      if (chunk.records.length <= excess) {
        this.chunks[this.head++] = undefined as unknown as Chunk;
        excess -= chunk.records.length;
        dropped += chunk.records.length;
      } else {
        this.chunks[this.head] = { signal: chunk.signal, records: chunk.records.slice(excess) };
        dropped += excess;
        excess = 0;
      }
    }
    this.count -= dropped;
    this.compact();
    return dropped;
  }

  /** Consumed slots are reclaimed in bulk, so take() stays O(records) rather than O(chunks²). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    } else if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    }
  }
}

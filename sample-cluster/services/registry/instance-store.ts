import type { InstanceView, ServiceView } from '../../kit/registry-protocol.ts';

/** What the registry keeps per instance; also what the on-disk snapshot holds. */
export interface InstanceRecord {
  readonly id: string;
  readonly service: string;
  readonly address: string;
  readonly meta: Record<string, string>;
  readonly registeredAt: number;
  readonly lastHeartbeat: number;
  readonly ttlSeconds: number;
}

interface Entry extends InstanceRecord {
  /** Separate from lastHeartbeat so a restored instance gets a fresh TTL window without lying about when it last beat. */
  readonly expiresAt: number;
}

export type StoreChange =
  | { readonly type: 'registered'; readonly instance: InstanceView; readonly at: number }
  | {
      readonly type: 'deregistered';
      readonly instance: InstanceView;
      readonly at: number;
      readonly forced: boolean;
    }
  | {
      readonly type: 'evicted';
      readonly instance: InstanceView;
      readonly at: number;
      readonly overdueMs: number;
    };

export class RegistryFullError extends Error {
  override readonly name = 'RegistryFullError';
}

export interface RegisterInput {
  readonly address: string;
  readonly meta: Record<string, string>;
  readonly ttlSeconds: number;
}

/**
 * The registry's state: instances by service, with TTL expiry. Every change is announced to the
 * listeners (watch stream, snapshot writer, log). Expiry is checked on every read as well as by the
 * periodic sweep, so nobody is ever shown an instance whose TTL has run out.
 */
export class InstanceStore {
  readonly #byService = new Map<string, Map<string, Entry>>();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #now: () => number;
  readonly #maxInstances: number;
  #count = 0;

  constructor(options: { now?: () => number; maxInstances?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxInstances = options.maxInstances ?? 2_000;
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Register or re-register (idempotent). `created` is false when the instance was already live. */
  register(service: string, id: string, input: RegisterInput): { created: boolean; instance: InstanceView } {
    const now = this.#now();
    const existing = this.#live(service, id, now);
    if (!existing && this.#count >= this.#maxInstances) {
      throw new RegistryFullError(`the registry holds its maximum of ${this.#maxInstances} instances`);
    }
    const entry: Entry = {
      id,
      service,
      address: input.address,
      meta: { ...input.meta },
      registeredAt: existing?.registeredAt ?? now,
      lastHeartbeat: now,
      ttlSeconds: input.ttlSeconds,
      expiresAt: now + input.ttlSeconds * 1000,
    };
    this.#put(entry);
    const instance = toView(entry);
    // A re-register that changes nothing a caller cares about is only a heartbeat.
    if (!existing || existing.address !== entry.address || !sameMeta(existing.meta, entry.meta)) {
      this.#emit({ type: 'registered', instance, at: now });
    }
    return { created: !existing, instance };
  }

  /** Extend the TTL. Undefined when the instance is unknown or already expired (it must register again). */
  heartbeat(service: string, id: string): InstanceView | undefined {
    const now = this.#now();
    const existing = this.#live(service, id, now);
    if (!existing) return undefined;
    const entry: Entry = { ...existing, lastHeartbeat: now, expiresAt: now + existing.ttlSeconds * 1000 };
    this.#put(entry);
    return toView(entry);
  }

  deregister(service: string, id: string, options: { forced?: boolean } = {}): InstanceView | undefined {
    const now = this.#now();
    const existing = this.#live(service, id, now);
    if (!existing) return undefined;
    this.#delete(existing);
    const instance = toView(existing);
    this.#emit({ type: 'deregistered', instance, at: now, forced: options.forced ?? false });
    return instance;
  }

  get(service: string, id: string): InstanceView | undefined {
    const entry = this.#live(service, id, this.#now());
    return entry && toView(entry);
  }

  /** Live instances of one service, oldest registration first. */
  list(service: string): InstanceView[] {
    const now = this.#now();
    const entries = [...(this.#byService.get(service)?.values() ?? [])].filter((e) => e.expiresAt > now);
    return entries.sort(byRegistration).map(toView);
  }

  /** Every service that has a live instance, by name. */
  services(): ServiceView[] {
    return [...this.#byService.keys()]
      .sort()
      .map((service) => ({ service, instances: this.list(service) }))
      .filter((s) => s.instances.length > 0);
  }

  get size(): number {
    return this.#count;
  }

  /** Evict every instance whose TTL ran out; returns what was evicted. */
  sweep(): InstanceView[] {
    const now = this.#now();
    const evicted: InstanceView[] = [];
    for (const instances of [...this.#byService.values()]) {
      for (const entry of [...instances.values()]) {
        if (entry.expiresAt <= now) evicted.push(this.#evict(entry, now));
      }
    }
    return evicted;
  }

  /** What the snapshot on disk holds. */
  records(): InstanceRecord[] {
    const records: InstanceRecord[] = [];
    for (const instances of this.#byService.values()) {
      for (const { expiresAt: _expiresAt, ...record } of instances.values()) records.push(record);
    }
    return records.sort(byRegistration);
  }

  /**
   * Load instances from a snapshot. Each gets one full TTL from now: the registry was down, so
   * their missed heartbeats say nothing about them; those that are really gone expire shortly.
   * No events: this runs before anyone can watch.
   */
  restore(records: readonly InstanceRecord[]): number {
    const now = this.#now();
    let restored = 0;
    for (const record of records) {
      if (this.#count >= this.#maxInstances) break;
      if (this.#byService.get(record.service)?.has(record.id)) continue;
      this.#put({ ...record, meta: { ...record.meta }, expiresAt: now + record.ttlSeconds * 1000 });
      restored += 1;
    }
    return restored;
  }

  /** The entry if it is live; an expired one is evicted on the spot so readers and the sweep agree. */
  #live(service: string, id: string, now: number): Entry | undefined {
    const entry = this.#byService.get(service)?.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#evict(entry, now);
      return undefined;
    }
    return entry;
  }

  #evict(entry: Entry, now: number): InstanceView {
    this.#delete(entry);
    const instance = toView(entry);
    this.#emit({ type: 'evicted', instance, at: now, overdueMs: now - entry.expiresAt });
    return instance;
  }

  #put(entry: Entry): void {
    let instances = this.#byService.get(entry.service);
    if (!instances) {
      instances = new Map();
      this.#byService.set(entry.service, instances);
    }
    if (!instances.has(entry.id)) this.#count += 1;
    instances.set(entry.id, entry);
  }

  #delete(entry: Entry): void {
    const instances = this.#byService.get(entry.service);
    if (!instances?.delete(entry.id)) return;
    this.#count -= 1;
    if (instances.size === 0) this.#byService.delete(entry.service);
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function toView(entry: InstanceRecord): InstanceView {
  return {
    id: entry.id,
    service: entry.service,
    address: entry.address,
    meta: { ...entry.meta },
    registeredAt: new Date(entry.registeredAt).toISOString(),
    lastHeartbeat: new Date(entry.lastHeartbeat).toISOString(),
    ttlSeconds: entry.ttlSeconds,
  };
}

function byRegistration(a: InstanceRecord, b: InstanceRecord): number {
  return a.registeredAt - b.registeredAt || a.id.localeCompare(b.id);
}

function sameMeta(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * The faults the control plane knows are active, so that each change is announced once
 * (`fault.changed`) whether the control plane made it (inject, remove, reset) or saw it while
 * polling the services (a fault that expired inside its service, or one added by someone else).
 */
import type { FaultInfo } from '../api/schemas.ts';
import type { EventBus } from './event-bus.ts';

/** A fault gone within this long of its expiry counts as expired, not removed. */
const EXPIRY_SLACK_MS = 1_500;

export class FaultTracker {
  readonly #known = new Map<string, FaultInfo>();
  readonly #bus: EventBus;

  constructor(bus: EventBus) {
    this.#bus = bus;
  }

  injected(fault: FaultInfo): void {
    if (this.#known.has(fault.id)) return;
    this.#known.set(fault.id, fault);
    this.#bus.publish('fault.changed', { change: 'injected', fault });
  }

  gone(id: string, change: 'removed' | 'expired' | 'reset'): void {
    const fault = this.#known.get(id);
    if (!fault) return;
    this.#known.delete(id);
    this.#bus.publish('fault.changed', { change, fault });
  }

  /** Everything known of one instance is gone: a reset, or the instance died. */
  clearInstance(instanceId: string, change: 'removed' | 'reset'): void {
    for (const [id, fault] of this.#known) if (fault.instanceId === instanceId) this.gone(id, change);
  }

  /** What an instance reports now: announce what appeared and what vanished. */
  sync(instanceId: string, current: readonly FaultInfo[]): void {
    const ids = new Set(current.map((f) => f.id));
    for (const [id, fault] of this.#known) {
      if (fault.instanceId !== instanceId || ids.has(id)) continue;
      const expired = fault.expiresAt !== null && Date.parse(fault.expiresAt) <= Date.now() + EXPIRY_SLACK_MS;
      this.gone(id, expired ? 'expired' : 'removed');
    }
    for (const fault of current) this.injected(fault);
  }
}

/**
 * Paused services: frozen with SIGSTOP (process runtime) and thawed with SIGCONT when their time is
 * up, when asked, and when the control plane stops, so a pause never outlives its owner. A control
 * plane that starts after a crash thaws every instance it adopts (see adoption.ts).
 */
import type { ServiceName } from '../api/schemas.ts';
import { isRuntimeError } from '../../sample-cluster/runtime/errors.ts';
import type { ClusterRuntime, ServiceStatus } from '../../sample-cluster/runtime/types.ts';

interface Paused {
  readonly service: ServiceName;
  readonly until: string;
  readonly timer: NodeJS.Timeout;
  readonly runtime: ClusterRuntime;
}

export class PauseManager {
  readonly #paused = new Map<string, Paused>();
  readonly #onError: (message: string) => void;

  constructor(onError: (message: string) => void) {
    this.#onError = onError;
  }

  readonly #others: ((instanceId: string) => string | undefined)[] = [];

  /** Another owner of pauses (the chaos engine's pause faults), consulted by the lookups below. */
  alsoPausedBy(lookup: (instanceId: string) => string | undefined): void {
    this.#others.push(lookup);
  }

  pausedUntil(instanceId: string): string | undefined {
    const own = this.#paused.get(instanceId)?.until;
    if (own) return own;
    for (const lookup of this.#others) {
      const until = lookup(instanceId);
      if (until) return until;
    }
    return undefined;
  }

  isPaused(instanceId: string): boolean {
    return this.pausedUntil(instanceId) !== undefined;
  }

  async pause(
    runtime: ClusterRuntime,
    service: ServiceName,
    instanceIds: readonly string[],
    durationMs: number,
  ): Promise<string> {
    const until = new Date(Date.now() + durationMs).toISOString();
    for (const instanceId of instanceIds) {
      await runtime.kill(service, { signal: 'SIGSTOP', instanceId });
      clearTimeout(this.#paused.get(instanceId)?.timer);
      const timer = setTimeout(() => {
        void this.#thaw(instanceId).catch((error: unknown) =>
          this.#onError(
            `could not resume ${instanceId}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      }, durationMs);
      this.#paused.set(instanceId, { service, until, timer, runtime });
    }
    return until;
  }

  /** Thaw every paused instance of a service now. */
  async resume(runtime: ClusterRuntime, service: ServiceName): Promise<ServiceStatus | null> {
    const ids = [...this.#paused].filter(([, p]) => p.service === service).map(([id]) => id);
    for (const id of ids) await this.#thaw(id);
    if (ids.length > 0) return null;
    // Not paused by us (a control plane that crashed, or `kill --signal SIGSTOP`): thaw anyway.
    return runtime.kill(service, { signal: 'SIGCONT' });
  }

  async resumeAll(): Promise<void> {
    await Promise.all([...this.#paused.keys()].map((id) => this.#thaw(id).catch(() => undefined)));
  }

  async #thaw(instanceId: string): Promise<void> {
    const paused = this.#paused.get(instanceId);
    if (!paused) return;
    clearTimeout(paused.timer);
    this.#paused.delete(instanceId);
    try {
      await paused.runtime.kill(paused.service, { signal: 'SIGCONT', instanceId });
    } catch (error) {
      // Killed or stopped meanwhile: nothing left to thaw.
      if (!isRuntimeError(error, 'NOT_RUNNING') && !isRuntimeError(error, 'NO_CLUSTER')) throw error;
    }
  }
}

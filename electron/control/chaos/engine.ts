/**
 * The chaos engine: applies faults through the ports, journals how to undo each step before the
 * next one runs, rolls back on expiry, on request, on "reset all", on a failed step, and — from
 * the journal — after a crash of the control plane. Every fault leaves a history entry and two
 * markers (applied, rolled back) for the charts and trace views.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ServiceName } from '../../api/schemas.ts';
import { chaosFaultSchema, describeFault, type ChaosFault, type TargetSelector } from '../../api/chaos.ts';
import { ChaosJournal, type JournalEntry } from './journal.ts';
import type { ChaosPorts, InstanceRef } from './ports.ts';
import { describeUndo, runUndo, type UndoStep } from './undo.ts';

export type FaultState = 'active' | 'completed' | 'rolled-back' | 'failed' | 'dry-run';

export interface FaultRecord {
  readonly id: string;
  readonly fault: ChaosFault;
  readonly description: string;
  /** What it does (or, in a dry run, would do), one line per step. */
  readonly plan: readonly string[];
  readonly services: readonly ServiceName[];
  readonly instances: readonly string[];
  readonly startedAt: string;
  readonly expiresAt: string | null;
  state: FaultState;
  endedAt: string | null;
  /** Why it ended: expired, reset, rolled back by request, recovered after a restart, an error. */
  endReason: string | null;
  error: string | null;
  /** Undo steps that failed; the fault stays listed as failed with these. */
  undoErrors: string[];
  /** Set when the fault was started by a schedule or an experiment. */
  readonly origin: string | null;
}

export interface ApplyOptions {
  readonly origin?: string;
}

export interface ChaosEngineOptions {
  readonly ports: ChaosPorts;
  /** Folder for `active-faults.json` (the journal) and `history.jsonl`. */
  readonly directory: string;
  /** Refuse a new fault while this many are active (a blast-radius limit). Default 50. */
  readonly maxActive?: number;
  readonly historyLimit?: number;
}

export interface RecoveryReport {
  readonly rolledBack: readonly string[];
  readonly failures: readonly { id: string; error: string }[];
  readonly unreadableJournal?: string;
}

export class ChaosRefusedError extends Error {
  override readonly name = 'ChaosRefusedError';
}

export class ChaosEngine {
  private readonly ports: ChaosPorts;
  private readonly journal: ChaosJournal;
  private readonly historyPath: string;
  private readonly records = new Map<string, FaultRecord>();
  private readonly order: string[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly events = new EventEmitter();
  private readonly maxActive: number;
  private readonly historyLimit: number;
  /** Rollbacks in flight, so "reset all" and expiry never undo the same fault twice. */
  private readonly rollingBack = new Map<string, Promise<FaultRecord>>();

  private constructor(options: ChaosEngineOptions, journal: ChaosJournal) {
    this.ports = options.ports;
    this.journal = journal;
    this.historyPath = join(options.directory, 'history.jsonl');
    this.maxActive = options.maxActive ?? 50;
    this.historyLimit = options.historyLimit ?? 500;
  }

  /**
   * Opens the engine and undoes whatever an earlier control plane left active (it cannot know
   * whether the cluster still needs it; leaving chaos behind is the one thing not allowed).
   */
  static async open(options: ChaosEngineOptions): Promise<{ engine: ChaosEngine; recovery: RecoveryReport }> {
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    const { journal, leftOver, unreadable } = ChaosJournal.open(
      join(options.directory, 'active-faults.json'),
    );
    const engine = new ChaosEngine(options, journal);
    const rolledBack: string[] = [];
    const failures: { id: string; error: string }[] = [];
    for (const entry of leftOver) {
      const errors = await engine.undoAll(entry);
      if (errors.length === 0) {
        journal.end(entry.id);
        rolledBack.push(entry.id);
      } else failures.push({ id: entry.id, error: errors.join('; ') });
      engine.history({
        id: entry.id,
        description: entry.description,
        startedAt: entry.startedAt,
        state: errors.length === 0 ? 'rolled-back' : 'failed',
        endReason: 'recovered after a control-plane restart',
        endedAt: new Date().toISOString(),
      });
      options.ports.marker({
        at: new Date().toISOString(),
        phase: errors.length === 0 ? 'rolled-back' : 'failed',
        faultId: entry.id,
        description: entry.description,
        services: entry.services as ServiceName[],
        reason: 'recovered after a control-plane restart',
      });
    }
    return {
      engine,
      recovery: { rolledBack, failures, ...(unreadable ? { unreadableJournal: unreadable } : {}) },
    };
  }

  on(event: 'change', listener: (record: FaultRecord) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  active(): FaultRecord[] {
    return this.order.map((id) => this.records.get(id)!).filter((r) => r.state === 'active');
  }

  /** Newest first. */
  recent(limit = 100): FaultRecord[] {
    return this.order
      .slice(-limit)
      .reverse()
      .map((id) => this.records.get(id)!);
  }

  get(id: string): FaultRecord | undefined {
    return this.records.get(id);
  }

  /** What an active fault still has to undo (empty once it ended). */
  undoSteps(id: string): readonly UndoStep[] {
    return this.journal.get(id)?.undo ?? [];
  }

  /** The kit faults an active fault of the engine put into instances, with their ids there. */
  requestFaults(id: string): { service: ServiceName; instanceId: string; faultId: string }[] {
    return this.undoSteps(id).flatMap((step) =>
      step.kind === 'remove-request-fault'
        ? [{ service: step.service, instanceId: step.instanceId, faultId: step.faultId }]
        : [],
    );
  }

  /** The active fault that put the kit fault `faultId` into an instance, if one did. */
  ownerOfRequestFault(faultId: string): FaultRecord | undefined {
    return this.active().find((r) => this.requestFaults(r.id).some((f) => f.faultId === faultId));
  }

  /**
   * When an instance frozen by an active pause fault thaws (its expiry), or a far date for a
   * pause without a duration; undefined when no fault of the engine pauses it.
   */
  pausedUntil(instanceId: string): string | undefined {
    for (const record of this.active()) {
      if (record.fault.type !== 'container' || record.fault.change.action !== 'pause') continue;
      if (!this.undoSteps(record.id).some((s) => s.kind === 'unpause' && s.instanceId === instanceId))
        continue;
      return record.expiresAt ?? new Date(Date.now() + 24 * 3600_000).toISOString();
    }
    return undefined;
  }

  async apply(input: unknown, options: ApplyOptions = {}): Promise<FaultRecord> {
    const parsed = chaosFaultSchema.safeParse(input);
    if (!parsed.success) throw new ChaosRefusedError(`invalid fault: ${z.prettifyError(parsed.error)}`);
    const fault = parsed.data;
    const targets = await this.resolve(fault);
    const id = randomUUID();
    const startedAt = new Date();
    const record: FaultRecord = {
      id,
      fault,
      description: describeFault(fault),
      plan: planOf(fault, targets),
      services: [...new Set(targets.map((t) => t.service).concat(holderOf(fault) ?? []))],
      instances: targets.map((t) => t.instanceId),
      startedAt: startedAt.toISOString(),
      expiresAt: fault.durationMs ? new Date(startedAt.getTime() + fault.durationMs).toISOString() : null,
      state: 'dry-run',
      endedAt: null,
      endReason: null,
      error: null,
      undoErrors: [],
      origin: options.origin ?? null,
    };
    if (fault.dryRun) {
      record.endedAt = record.startedAt;
      record.endReason = 'dry run: nothing was changed';
      return this.remember(record);
    }
    if (this.active().length >= this.maxActive) {
      throw new ChaosRefusedError(
        `${this.maxActive} faults are active already (the blast-radius limit); reset some first`,
      );
    }
    record.state = 'active';
    this.journal.begin({
      id,
      description: record.description,
      services: [...record.services],
      startedAt: record.startedAt,
      expiresAt: record.expiresAt,
    });
    this.remember(record);
    try {
      await this.act(id, fault, targets);
    } catch (error) {
      record.error = messageOf(error);
      await this.rollback(id, `a step failed: ${record.error}`, 'failed');
      return record;
    }
    this.marker(record, 'applied');
    const undo = this.journal.get(id)?.undo ?? [];
    if (undo.length === 0) {
      // Nothing to undo (a restart, a revocation, a key rotation): done as soon as it is done.
      this.journal.end(id);
      this.finish(record, 'completed', 'nothing to roll back');
    } else if (fault.durationMs) {
      const timer = setTimeout(() => void this.rollback(id, 'expired'), fault.durationMs);
      timer.unref();
      this.timers.set(id, timer);
    }
    this.events.emit('change', record);
    return record;
  }

  /** Undo one active fault. Resolves with its record; undoing an ended fault changes nothing. */
  rollback(
    id: string,
    reason = 'rolled back on request',
    state: 'rolled-back' | 'failed' = 'rolled-back',
  ): Promise<FaultRecord> {
    const record = this.records.get(id);
    if (!record) return Promise.reject(new ChaosRefusedError(`no fault ${id}`));
    const running = this.rollingBack.get(id);
    if (running) return running;
    if (record.state !== 'active') return Promise.resolve(record);
    const done = (async () => {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      const entry = this.journal.get(id);
      const errors = entry ? await this.undoAll(entry) : [];
      record.undoErrors = errors;
      if (errors.length === 0) this.journal.end(id);
      this.finish(record, errors.length > 0 ? 'failed' : state, reason);
      this.marker(record, errors.length > 0 || state === 'failed' ? 'failed' : 'rolled-back', reason);
      return record;
    })().finally(() => this.rollingBack.delete(id));
    this.rollingBack.set(id, done);
    return done;
  }

  /** Undo every active fault, newest first. */
  async resetAll(reason = 'reset all'): Promise<FaultRecord[]> {
    const out: FaultRecord[] = [];
    for (const record of this.active().reverse()) out.push(await this.rollback(record.id, reason));
    return out;
  }

  /** Stops timers; journalled faults stay for the next control plane to undo. */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async undoAll(entry: JournalEntry): Promise<string[]> {
    const errors: string[] = [];
    for (const step of [...entry.undo].reverse()) {
      try {
        await runUndo(this.ports, step);
        this.journal.undone(entry.id, step);
      } catch (error) {
        errors.push(`${describeUndo(step)}: ${messageOf(error)}`);
      }
    }
    return errors;
  }

  private async resolve(fault: ChaosFault): Promise<InstanceRef[]> {
    const target = fault.type === 'breaker' ? undefined : fault.target;
    if (!target) return [];
    const all = await this.ports.instances(target.service);
    const picked = pick(target, all);
    if (picked.length === 0) {
      throw new ChaosRefusedError(
        target.pick === 'one' && target.instance
          ? `${target.service} has no instance ${target.instance}`
          : `${target.service} has no instance to act on`,
      );
    }
    return picked;
  }

  private async act(id: string, fault: ChaosFault, targets: readonly InstanceRef[]): Promise<void> {
    const undo = (step: UndoStep) => this.journal.addUndo(id, step);
    const p = this.ports;
    switch (fault.type) {
      case 'container': {
        const c = fault.change;
        if (c.action === 'scale') {
          const service = fault.target.service;
          const before = await p.scale(service, c.replicas);
          undo({ kind: 'scale', service, replicas: before });
          return;
        }
        for (const t of targets) {
          switch (c.action) {
            case 'kill':
              await p.kill(t, c.signal);
              undo({ kind: 'start', ...t });
              break;
            case 'stop':
              await p.stop(t, c.graceMs);
              undo({ kind: 'start', ...t });
              break;
            case 'pause':
              await p.pause(t);
              undo({ kind: 'unpause', ...t });
              break;
            case 'restart':
              await p.restart(t);
              break;
            case 'partition':
              await p.partition(t);
              undo({ kind: 'reconnect', ...t });
              break;
            case 'limits': {
              const before = await p.setLimits(t, {
                ...(c.cpus !== undefined ? { cpus: c.cpus } : {}),
                ...(c.memoryMb !== undefined ? { memoryMb: c.memoryMb } : {}),
              });
              undo({ kind: 'limits', ...t, cpus: before.cpus, memoryMb: before.memoryMb });
              break;
            }
          }
        }
        return;
      }
      case 'request':
        for (const t of targets) {
          // The kit's own expiry is a second guard: the fault ends even if the control plane is gone.
          const spec = fault.durationMs ? { ...fault.fault, durationMs: fault.durationMs } : fault.fault;
          const faultId = await p.addRequestFault(t, { ...spec, label: spec.label ?? `chaoscope:${id}` });
          undo({ kind: 'remove-request-fault', ...t, faultId });
        }
        return;
      case 'breaker': {
        const holder = holderOf(fault)!;
        const c = fault.change;
        if (c.action === 'configure') {
          const before = await p.configureBreaker(holder, fault.breaker, c.settings);
          undo({ kind: 'breaker-settings', holder, breaker: fault.breaker, settings: before });
        } else {
          await p.breaker(holder, fault.breaker, c.action);
          if (c.action !== 'reset') undo({ kind: 'breaker-reset', holder, breaker: fault.breaker });
        }
        return;
      }
      case 'auth': {
        const c = fault.change;
        switch (c.action) {
          case 'revoke-user':
            return p.revokeUser(c.user);
          case 'revoke-token':
            return p.revokeToken(c.token);
          case 'rotate-keys':
            return p.rotateKeys();
          case 'rotate-secret':
            return p.rotateSecret();
          case 'auth-mode': {
            const before = await p.setAuthMode(c.mode);
            if (before !== c.mode) undo({ kind: 'auth-mode', mode: before });
            return;
          }
          case 'revoke-certificate':
          case 'expire-certificate':
            if (targets.length === 0) throw new ChaosRefusedError(`${c.action} needs a target service`);
            for (const t of targets) {
              const hold = c.hold ?? false;
              await (c.action === 'revoke-certificate'
                ? p.revokeCertificate(t, hold)
                : p.expireCertificate(t, hold));
              undo({ kind: 'renew-certificate', ...t });
            }
            return;
        }
      }
    }
  }

  private remember(record: FaultRecord): FaultRecord {
    this.records.set(record.id, record);
    this.order.push(record.id);
    while (this.order.length > this.historyLimit) {
      const oldest = this.order[0]!;
      if (this.records.get(oldest)?.state === 'active') break;
      this.order.shift();
      this.records.delete(oldest);
    }
    if (record.state === 'dry-run') this.history(record);
    this.events.emit('change', record);
    return record;
  }

  private finish(record: FaultRecord, state: FaultState, reason: string): void {
    record.state = state;
    record.endedAt = new Date().toISOString();
    record.endReason = reason;
    this.history(record);
    this.events.emit('change', record);
  }

  private marker(record: FaultRecord, phase: 'applied' | 'rolled-back' | 'failed', reason?: string): void {
    this.ports.marker({
      at: new Date().toISOString(),
      phase,
      faultId: record.id,
      description: record.description,
      services: record.services,
      ...(reason ? { reason } : {}),
    });
  }

  private history(entry: Partial<FaultRecord> & { id: string; description: string }): void {
    try {
      appendFileSync(this.historyPath, JSON.stringify(entry) + '\n', { mode: 0o600 });
    } catch {
      // History on disk is a convenience; the journal is what guarantees the rollback.
    }
  }
}

function pick(
  target: TargetSelector,
  all: readonly { service: ServiceName; instanceId: string; running: boolean }[],
) {
  const refs = (list: typeof all): InstanceRef[] =>
    list.map((i) => ({ service: i.service, instanceId: i.instanceId }));
  switch (target.pick) {
    case 'one':
      return refs(target.instance ? all.filter((i) => i.instanceId === target.instance) : all.slice(0, 1));
    case 'random': {
      const running = all.filter((i) => i.running);
      const pool = running.length > 0 ? running : all;
      return pool.length === 0 ? [] : refs([pool[randomInt(pool.length)]!]);
    }
    case 'percent': {
      const count = Math.max(1, Math.ceil((all.length * (target.percent ?? 100)) / 100));
      const shuffled = [...all];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      return refs(shuffled.slice(0, count));
    }
    case 'all':
      return refs(all);
  }
}

function holderOf(fault: ChaosFault): ServiceName | undefined {
  return fault.type === 'breaker' ? (fault.breaker.split(':')[0] as ServiceName) : undefined;
}

function planOf(fault: ChaosFault, targets: readonly InstanceRef[]): string[] {
  const base = describeFault({ ...fault, durationMs: undefined });
  const lines = targets.length === 0 ? [base] : targets.map((t) => `${t.instanceId}: ${base}`);
  if (fault.durationMs) lines.push(`roll back after ${fault.durationMs} ms`);
  return lines;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

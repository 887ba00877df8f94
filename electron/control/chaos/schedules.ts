/**
 * Schedules: repeat a fault or an experiment on an interval, within a blast-radius limit (at most
 * so many active faults started by the schedule, at most such a share of a service's instances
 * hit at once). Settings persist in `schedules.json` (mode 0600, atomic writes); stats say how
 * often each ran and how often it was skipped, and why. A fault schedule needs a duration: a fault
 * that never ends would fill the blast radius and stay there.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { ServiceName } from '../../api/schemas.ts';
import {
  scheduleInputSchema,
  scheduleSchema,
  type Schedule,
  type ScheduleInfo,
  type ScheduleInput,
} from '../../api/schedules.ts';
import type { ChaosEngine } from './engine.ts';
import type { chaosFaultSchema, TargetSelector } from '../../api/chaos.ts';

export { scheduleInputSchema, scheduleSchema, type Schedule, type ScheduleInput };

const fileSchema = z.object({ version: z.literal(1), schedules: z.array(scheduleSchema) });

export interface SchedulerOptions {
  readonly engine: ChaosEngine;
  /** `schedules.json`, e.g. in the chaos engine's directory. */
  readonly file: string;
  /** How many instances a service has (for the instance share). */
  instanceCount(service: ServiceName): Promise<number>;
  /** Runs an experiment to its end; resolves with its verdict. */
  runExperiment?(ref: string, signal: AbortSignal): Promise<{ verdict: string }>;
  /** A schedule was added, changed, ran or was skipped (for the event bus). */
  onChange?(schedule: ScheduleInfo): void;
  /** A schedule was removed. */
  onRemove?(id: string): void;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly schedules = new Map<string, Schedule>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** When each timer was set: it fires every `everyMs` from then (for `nextRunAt`). */
  private readonly armedAt = new Map<string, number>();
  /** Experiments in flight per schedule: one at a time, and cancelled on stop. */
  private readonly running = new Map<string, AbortController>();
  private started = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: SchedulerOptions) {
    this.options = options;
    for (const s of readSchedules(options.file)) this.schedules.set(s.id, s);
  }

  list(): ScheduleInfo[] {
    return [...this.schedules.values()].map((s) => this.info(s));
  }

  /** The schedule with when its timer fires next (null when it is not armed). */
  info(schedule: Schedule): ScheduleInfo {
    const armed = this.armedAt.get(schedule.id);
    if (armed === undefined) return { ...schedule, nextRunAt: null };
    const periods = Math.floor((Date.now() - armed) / schedule.everyMs) + 1;
    return { ...schedule, nextRunAt: new Date(armed + periods * schedule.everyMs).toISOString() };
  }

  get(id: string): Schedule | undefined {
    return this.schedules.get(id);
  }

  add(input: ScheduleInput): ScheduleInfo {
    const parsed = scheduleInputSchema.parse(input);
    if (parsed.what.kind === 'experiment' && !this.options.runExperiment)
      throw new Error('this scheduler cannot run experiments');
    const schedule: Schedule = {
      ...parsed,
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      stats: { runs: 0, skipped: 0, failures: 0, lastRunAt: null, lastResult: null },
    };
    this.schedules.set(schedule.id, schedule);
    if (this.started) this.arm(schedule);
    return this.changed(schedule);
  }

  /** Change the interval, the limit, or switch it on and off; stats are kept. */
  update(
    id: string,
    patch: Partial<Pick<ScheduleInput, 'everyMs' | 'enabled' | 'blastRadius' | 'name'>>,
  ): ScheduleInfo {
    const current = this.schedules.get(id);
    if (!current) throw new Error(`no schedule ${id}`);
    const { id: _id, createdAt, stats, ...rest } = current;
    const parsed = scheduleInputSchema.parse({ ...rest, ...patch });
    const next: Schedule = { ...parsed, id, createdAt, stats };
    this.schedules.set(id, next);
    this.disarm(id);
    if (this.started) this.arm(next);
    return this.changed(next);
  }

  remove(id: string): boolean {
    this.disarm(id);
    this.running.get(id)?.abort();
    const removed = this.schedules.delete(id);
    if (removed) {
      this.save();
      this.options.onRemove?.(id);
    }
    return removed;
  }

  /** Arms every enabled schedule; the first run comes one interval from now. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.schedules.values()) this.arm(s);
  }

  /**
   * Stops timers, cancels running experiments (their rollbacks still run) and waits for runs in
   * flight, so nothing starts after it resolves. Faults already applied end by their duration.
   */
  async stop(): Promise<void> {
    this.started = false;
    for (const id of [...this.timers.keys()]) this.disarm(id);
    for (const c of this.running.values()) c.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** One run now, within the blast radius (also what the timer calls). */
  async runOnce(id: string): Promise<ScheduleInfo> {
    const schedule = this.schedules.get(id);
    if (!schedule) throw new Error(`no schedule ${id}`);
    const skip = await this.whySkip(schedule);
    if (skip) {
      schedule.stats.skipped++;
      schedule.stats.lastResult = `skipped: ${skip}`;
      return this.changed(schedule);
    }
    schedule.stats.runs++;
    schedule.stats.lastRunAt = new Date().toISOString();
    try {
      if (schedule.what.kind === 'fault') {
        const record = await this.options.engine.apply(schedule.what.fault, { origin: originOf(schedule) });
        if (record.state === 'failed') schedule.stats.failures++;
        schedule.stats.lastResult = `${record.description}: ${record.state}${record.error ? ` (${record.error})` : ''}`;
      } else {
        const controller = new AbortController();
        this.running.set(id, controller);
        try {
          const { verdict } = await this.options.runExperiment!(schedule.what.experiment, controller.signal);
          if (verdict !== 'passed') schedule.stats.failures++;
          schedule.stats.lastResult = `verdict ${verdict}`;
        } finally {
          this.running.delete(id);
        }
      }
    } catch (error) {
      schedule.stats.failures++;
      schedule.stats.lastResult = `error: ${error instanceof Error ? error.message : String(error)}`;
    }
    return this.changed(schedule);
  }

  private async whySkip(schedule: Schedule): Promise<string | null> {
    if (schedule.what.kind === 'experiment')
      return this.running.has(schedule.id) ? 'its previous run is still going' : null;
    const mine = this.options.engine.active().filter((r) => r.origin === originOf(schedule));
    if (mine.length >= schedule.blastRadius.maxActiveFaults)
      return `${mine.length} of its faults are active (limit ${schedule.blastRadius.maxActiveFaults})`;
    const target = targetOf(schedule.what.fault);
    if (!target) return null;
    const total = await this.options.instanceCount(target.service);
    if (total === 0) return `${target.service} has no instance`;
    const hit = new Set(mine.flatMap((r) => r.instances));
    const adding = wouldHit(target, total);
    const share = (100 * (hit.size + adding)) / total;
    if (share > schedule.blastRadius.maxInstancePercent)
      return `${hit.size + adding} of ${total} ${target.service} instance(s) would be hit (limit ${schedule.blastRadius.maxInstancePercent}%)`;
    return null;
  }

  private arm(schedule: Schedule): void {
    if (!schedule.enabled || this.timers.has(schedule.id)) return;
    const timer = setInterval(() => {
      const run = this.runOnce(schedule.id)
        .catch(() => undefined)
        .finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }, schedule.everyMs);
    timer.unref();
    this.timers.set(schedule.id, timer);
    this.armedAt.set(schedule.id, Date.now());
  }

  private disarm(id: string): void {
    clearInterval(this.timers.get(id));
    this.timers.delete(id);
    this.armedAt.delete(id);
  }

  private changed(schedule: Schedule): ScheduleInfo {
    this.save();
    const info = this.info(schedule);
    this.options.onChange?.(info);
    return info;
  }

  private save(): void {
    mkdirSync(dirname(this.options.file), { recursive: true, mode: 0o700 });
    const temp = `${this.options.file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      // What is kept, without the timer's nextRunAt.
      writeSync(fd, JSON.stringify({ version: 1, schedules: [...this.schedules.values()] }, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.options.file);
  }
}

function readSchedules(file: string): Schedule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(`${file} is not a schedules file: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data.schedules;
}

function originOf(schedule: Schedule): string {
  return `schedule:${schedule.id}`;
}

function targetOf(fault: z.output<typeof chaosFaultSchema>): TargetSelector | undefined {
  return fault.type === 'breaker' ? undefined : fault.target;
}

/** How many instances one run of the fault hits, as the engine picks them. */
function wouldHit(target: TargetSelector, total: number): number {
  switch (target.pick) {
    case 'one':
    case 'random':
      return 1;
    case 'percent':
      return Math.max(1, Math.ceil((total * (target.percent ?? 100)) / 100));
    case 'all':
      return total;
  }
}

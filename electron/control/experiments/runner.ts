/**
 * Runs one experiment: probe users and setup → traffic → steady state before → the method (with
 * abort conditions checked all along) → steady state after → rollbacks, which run whatever
 * happened before (success, deviation, abort, error). Every fault goes through the chaos engine,
 * so its journal undoes it after a crash too; the run's own journal (journal.ts) carries the
 * explicit rollbacks for that case. Ends with a verdict and the reports.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FaultRecord } from '../chaos/engine.ts';
import { writeJournal, type Phase, type RunJournal, type StepRecord, type Verdict } from './journal.ts';
import type { ExperimentPorts } from './ports.ts';
import { signUpAndLogIn, type ProbeUser } from './probe-users.ts';
import { callGateway, runProbe, type ProbeContext, type ProbeResult } from './probes.ts';
import { writeReports } from './report.ts';
import { probeLabel, type Experiment, type LeafStep, type Probe, type RollbackAction } from './schema.ts';

export type ExperimentProgress =
  | { readonly type: 'started'; readonly runId: string; readonly title: string; readonly dir: string }
  | { readonly type: 'step'; readonly runId: string; readonly step: StepRecord }
  | { readonly type: 'aborting'; readonly runId: string; readonly reason: string }
  | {
      readonly type: 'finished';
      readonly runId: string;
      readonly verdict: Verdict;
      readonly reason: string;
      readonly report: string;
    };

export interface RunOptions {
  /** Aborting it ends the method at once; the rollbacks still run; the verdict is "aborted". */
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ExperimentProgress) => void;
  /** Where the definition came from, for the journal. */
  readonly source?: string;
}

export interface RunResult {
  readonly runId: string;
  readonly verdict: Verdict;
  readonly reason: string;
  /** The HTML report. */
  readonly report: string;
  readonly markdown: string;
  /** The JSON journal. */
  readonly journal: string;
  readonly dir: string;
}

/** Why the method stopped early. */
class Deviation extends Error {
  override readonly name = 'Deviation';
}
class StepFailed extends Error {
  override readonly name = 'StepFailed';
}

const MAX_SAMPLES = 20_000;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replaceAll(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export async function runExperiment(
  ports: ExperimentPorts,
  experiment: Experiment,
  runsDir: string,
  options: RunOptions = {},
): Promise<RunResult> {
  return new ExperimentRun(ports, experiment, runsDir, options).run();
}

class ExperimentRun {
  private readonly ports: ExperimentPorts;
  private experiment: Experiment;
  private readonly options: RunOptions;
  private readonly runId = newRunId();
  private readonly dir: string;
  private readonly journal: RunJournal;
  /** Ends the method: the caller's signal, or a failing abort condition. */
  private readonly stop = new AbortController();
  private abortReason: string | null = null;
  private readonly users = new Map<string, ProbeUser>();
  private readonly named = new Map<string, string>();
  private gateway = '';
  private runtime: 'process' | 'docker' | 'swarm' | null = null;
  private stepIndex = 0;
  /** Set once the method (and the steady state after it) is over: abort checks stop. */
  private methodOver = false;
  private traffic: { stop(): Promise<void> } | null = null;

  constructor(ports: ExperimentPorts, experiment: Experiment, runsDir: string, options: RunOptions) {
    this.ports = ports;
    this.experiment = experiment;
    this.options = options;
    this.dir = join(runsDir, this.runId);
    this.journal = {
      version: 1,
      runId: this.runId,
      title: experiment.title,
      description: experiment.description,
      source: options.source ?? 'definition',
      runtime: null,
      state: 'running',
      pid: process.pid,
      startedAt: new Date().toISOString(),
      endedAt: null,
      verdict: null,
      reason: null,
      steps: [],
      samples: [],
      markers: [],
      faults: [],
      pendingRollbacks: experiment.rollbacks,
      traffic: null,
      experiment,
    };
  }

  async run(): Promise<RunResult> {
    const onCallerAbort = () => this.abort('stopped by the operator');
    if (this.options.signal?.aborted) onCallerAbort();
    this.options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.save();
    this.emit({ type: 'started', runId: this.runId, title: this.experiment.title, dir: this.dir });

    let outcome: { verdict: Verdict; reason: string } | null = null;
    let monitor: Promise<void> | null = null;
    try {
      this.runtime = await this.ports.runtimeKind();
      this.journal.runtime = this.runtime;
      this.gateway = await this.ports.gateway();
      await this.prepare();
      await this.checkSteadyState('steady-state-before');
      monitor = this.monitorAbortConditions();
      await this.runMethod();
      this.throwIfStopped();
    } catch (error) {
      outcome = this.classify(error);
    } finally {
      // The abort conditions watch the method only.
      this.methodOver = true;
      await monitor?.catch(() => undefined);
    }

    // Always, whatever ended the method.
    const rollbackErrors = await this.rollBack(outcome?.verdict ?? 'method done');
    if (!outcome) {
      // The hypothesis again, once the chaos is undone: the cluster must return to its steady state.
      try {
        await this.checkSteadyState('steady-state-after');
        this.throwIfStopped();
      } catch (error) {
        outcome = this.classify(error);
      }
    }
    this.options.signal?.removeEventListener('abort', onCallerAbort);
    await this.traffic?.stop();

    let verdict: Verdict = outcome?.verdict ?? 'passed';
    let reason =
      outcome?.reason ??
      'the steady state held before the method, during it, and again once it was rolled back';
    if (rollbackErrors.length > 0) {
      reason = `${reason}; rollbacks failed: ${rollbackErrors.join('; ')}`;
      verdict = 'error';
    }

    this.journal.state = 'finished';
    this.journal.verdict = verdict;
    this.journal.reason = reason;
    this.journal.endedAt = new Date().toISOString();
    this.journal.pendingRollbacks = [];
    this.journal.markers = this.markers();
    this.save();
    const files = writeReports(this.dir, this.journal);
    this.emit({ type: 'finished', runId: this.runId, verdict, reason, report: files.report });
    return { runId: this.runId, verdict, reason, ...files, dir: this.dir };
  }

  private classify(error: unknown): { verdict: Verdict; reason: string } {
    if (this.abortReason !== null) return { verdict: 'aborted', reason: this.abortReason };
    if (error instanceof Deviation) return { verdict: 'failed', reason: error.message };
    return { verdict: 'error', reason: messageOf(error) };
  }

  // --- phases -------------------------------------------------------------------------------

  private async prepare(): Promise<void> {
    const handles = new Set<string>();
    for (const name of this.experiment.users) {
      const user = await this.step('setup', 'user', `sign up and log in probe user ${name}`, async () => {
        const u = await signUpAndLogIn(this.gateway, this.runId, name);
        return { detail: `${u.handle} logged in (authorization code + PKCE)`, value: u };
      });
      if (handles.has(user.handle)) throw new StepFailed(`probe users ${name} and another share a handle`);
      handles.add(user.handle);
      this.users.set(name, user);
    }
    // Templates are filled in once: the journal keeps the experiment as it ran.
    this.experiment = fillTemplates(this.experiment, this.users);
    this.journal.experiment = this.experiment;
    this.journal.pendingRollbacks = this.experiment.rollbacks;
    this.save();
    for (const call of this.experiment.setup) {
      await this.step('setup', 'setup-call', `${call.method} ${call.path} as ${call.as}`, async () => {
        const answer = await callGateway(this.probeContext(), call);
        const ok = call.status
          ? call.status.includes(answer.status)
          : answer.status >= 200 && answer.status < 300;
        if (!ok)
          throw new StepFailed(
            `setup ${call.method} ${call.path} answered ${answer.status}: ${answer.body.slice(0, 200)}`,
          );
        return { detail: `${answer.status} in ${Math.round(answer.latencyMs)} ms`, value: null };
      });
    }
    const traffic = this.experiment.traffic;
    if (traffic) {
      this.traffic = this.startTraffic(traffic);
      if (traffic.warmupMs > 0)
        await this.step('setup', 'wait', `warm-up traffic for ${traffic.warmupMs} ms`, async () => {
          await sleep(traffic.warmupMs, this.stop.signal);
          return { detail: null, value: null };
        });
    }
  }

  private async checkSteadyState(phase: 'steady-state-before' | 'steady-state-after'): Promise<void> {
    const { probes, recoveryMs } = this.experiment.steadyState;
    const within = phase === 'steady-state-after' && recoveryMs > 0 ? recoveryMs : undefined;
    const results = await Promise.all(probes.map((probe) => this.probeStep(phase, probe, within, 250)));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      const when = phase === 'steady-state-before' ? 'before the method' : 'once the method was rolled back';
      throw new Deviation(
        `the steady state did not hold ${when}: ${failed.map((r) => `${r.probe}: ${r.detail}`).join('; ')}`,
      );
    }
  }

  private async runMethod(): Promise<void> {
    let group = 0;
    for (const step of this.experiment.method) {
      this.throwIfStopped();
      if ('parallel' in step) {
        const g = group++;
        const settled = await Promise.allSettled(step.parallel.map((leaf) => this.runLeaf(leaf, g)));
        const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
        // A deviation outranks an error: it is what the experiment is about.
        const deviation = rejected.find((r) => r.reason instanceof Deviation);
        if (deviation) throw deviation.reason as Error;
        if (rejected[0]) throw rejected[0].reason as Error;
      } else await this.runLeaf(step, null);
    }
  }

  private async runLeaf(leaf: LeafStep, group: number | null): Promise<void> {
    switch (leaf.type) {
      case 'wait':
        await this.step(
          'method',
          'wait',
          `wait ${leaf.ms} ms`,
          async () => {
            await sleep(leaf.ms, this.stop.signal);
            return { detail: null, value: null };
          },
          { group },
        );
        return;
      case 'fault': {
        const alternative = this.runtime ? leaf.instead?.[this.runtime] : undefined;
        const fault = alternative?.fault ?? leaf.fault;
        const record = await this.step(
          'method',
          'fault',
          leaf.name ? `fault ${leaf.name}` : 'fault',
          async () => {
            const r = await this.ports.engine.apply(fault, { origin: `experiment:${this.runId}` });
            if (r.state !== 'dry-run') {
              this.journal.faults.push(r.id);
              // Saved by the step's end: a restarted control plane can name what it undoes.
              this.journal.markers = this.markers();
            }
            if (r.state === 'failed')
              throw new StepFailed(`${r.description} could not be applied: ${r.error ?? 'unknown error'}`);
            return {
              detail: r.plan.join('; ') || r.description,
              value: r,
              faultId: r.id,
              title: r.description,
            };
          },
          { group, note: alternative?.note ?? null },
        );
        if (leaf.name) this.named.set(leaf.name, record.id);
        return;
      }
      case 'rollback': {
        const id = this.named.get(leaf.fault);
        await this.step(
          'method',
          'rollback',
          `roll back ${leaf.fault}`,
          async () => {
            if (!id) throw new StepFailed(`fault ${leaf.fault} was not applied (yet)`);
            const r = await this.ports.engine.rollback(id, `experiment step: roll back ${leaf.fault}`);
            if (r.undoErrors.length > 0)
              throw new StepFailed(`rolling back ${leaf.fault}: ${r.undoErrors.join('; ')}`);
            return { detail: `${r.description}: ${r.state}`, value: null, faultId: id };
          },
          { group },
        );
        return;
      }
      case 'probe': {
        const result = await this.probeStep('method', leaf.probe, leaf.within, leaf.everyMs, group);
        if (!result.ok)
          throw new Deviation(`during the method, ${result.probe} did not hold: ${result.detail}`);
        return;
      }
    }
  }

  /** Checks every abort probe on a timer until the method is over; a failing one aborts the run. */
  private async monitorAbortConditions(): Promise<void> {
    const abort = this.experiment.abort;
    if (!abort) return;
    while (!this.methodOver && !this.stop.signal.aborted) {
      const started = Date.now();
      const results = await Promise.all(abort.probes.map((p) => runProbe(this.probeContext(), p)));
      for (const r of results) this.sample(`abort: ${r.probe}`, r);
      const failed = results.find((r) => !r.ok);
      if (failed && !this.methodOver) {
        this.record({
          phase: 'abort-check',
          kind: 'probe',
          title: `abort condition ${failed.probe}`,
          status: 'deviated',
          startedAt: failed.at,
          endedAt: new Date().toISOString(),
          durationMs: failed.tookMs,
          detail: failed.detail,
          probe: failed,
        });
        this.abort(`abort condition ${failed.probe} failed: ${failed.detail}`);
        return;
      }
      await sleep(Math.max(0, abort.everyMs - (Date.now() - started)), this.stop.signal).catch(
        () => undefined,
      );
    }
  }

  /**
   * Undoes every fault the run applied (newest first) through the engine, then runs the explicit
   * rollback actions. Never skipped, never cancelled; errors are collected, not thrown.
   */
  private async rollBack(why: string): Promise<string[]> {
    const errors: string[] = [];
    for (const id of [...this.journal.faults].reverse()) {
      const record = this.ports.engine.get(id);
      if (!record || record.state !== 'active') continue;
      try {
        await this.step('rollback', 'rollback-fault', `roll back ${record.description}`, async () => {
          const r = await this.ports.engine.rollback(id, `experiment rollback (${why})`);
          if (r.undoErrors.length > 0) throw new Error(r.undoErrors.join('; '));
          return { detail: r.state, value: null, faultId: id };
        });
      } catch (error) {
        errors.push(`${record.description}: ${messageOf(error)}`);
      }
    }
    for (const action of this.experiment.rollbacks) {
      try {
        await runRollbackAction(this.ports, action, this.runId, (title, run) =>
          this.step('rollback', 'rollback-action', title, run),
        );
      } catch (error) {
        errors.push(messageOf(error));
      }
    }
    return errors;
  }

  // --- steps and records ----------------------------------------------------------------------

  private async probeStep(
    phase: Phase,
    probe: Probe,
    within: number | undefined,
    everyMs: number,
    group: number | null = null,
  ): Promise<ProbeResult> {
    const ctx = this.probeContext();
    const label = probeLabel(probe);
    const title = within !== undefined ? `${label} (holds within ${within} ms)` : label;
    const entry = this.begin(phase, 'probe', title, group);
    const started = Date.now();
    // When the measurement that held was *sent*, after the step began: a refused request sent 0 ms
    // after a revocation bounds the propagation by 0 ms, however slow its answer was.
    let heldAfter = 0;
    let result = await runProbe(ctx, probe);
    this.sample(label, result);
    if (within !== undefined) {
      while (!result.ok && Date.now() - started < within) {
        const cancelled = await sleep(everyMs, this.stop.signal).then(
          () => false,
          () => true,
        );
        if (cancelled) break;
        heldAfter = Date.now() - started;
        result = await runProbe(ctx, probe);
        this.sample(label, result);
      }
    }
    // "Within" is the tolerance: a probe that held, but only after the deadline, did not hold.
    const late = within !== undefined && result.ok && heldAfter > within;
    this.end(entry, {
      status: this.stop.signal.aborted && !result.ok ? 'cancelled' : result.ok && !late ? 'ok' : 'deviated',
      detail: late
        ? `${result.detail}; held only after ${heldAfter} ms, tolerance ${within} ms`
        : result.detail,
      probe: result,
      heldAfterMs: within !== undefined && result.ok ? heldAfter : null,
    });
    return late
      ? { ...result, ok: false, detail: `held only after ${heldAfter} ms, tolerance ${within} ms` }
      : result;
  }

  /** Runs one step, records it (running → ok/failed), and rethrows what failed. */
  private async step<T>(
    phase: Phase,
    kind: StepRecord['kind'],
    title: string,
    run: () => Promise<{ detail: string | null; value: T; faultId?: string; title?: string }>,
    extra: { group?: number | null; note?: string | null } = {},
  ): Promise<T> {
    const entry = this.begin(phase, kind, title, extra.group ?? null, extra.note ?? null);
    try {
      const out = await run();
      this.end(entry, {
        status: 'ok',
        detail: out.detail,
        ...(out.faultId ? { faultId: out.faultId } : {}),
        ...(out.title ? { title: out.title } : {}),
      });
      return out.value;
    } catch (error) {
      const cancelled = this.stop.signal.aborted && isAbortError(error);
      this.end(entry, { status: cancelled ? 'cancelled' : 'failed', detail: messageOf(error) });
      throw error;
    }
  }

  private begin(
    phase: Phase,
    kind: StepRecord['kind'],
    title: string,
    group: number | null,
    note: string | null = null,
  ): StepRecord {
    const entry: StepRecord = {
      index: this.stepIndex++,
      phase,
      kind,
      title,
      status: 'running',
      startedAt: new Date().toISOString(),
      endedAt: null,
      durationMs: null,
      detail: null,
      probe: null,
      heldAfterMs: null,
      faultId: null,
      note,
      group,
    };
    this.journal.steps.push(entry);
    this.save();
    this.emit({ type: 'step', runId: this.runId, step: entry });
    return entry;
  }

  private end(entry: StepRecord, patch: Partial<StepRecord>): void {
    Object.assign(entry, patch);
    entry.endedAt = new Date().toISOString();
    entry.durationMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
    this.save();
    this.emit({ type: 'step', runId: this.runId, step: { ...entry } });
  }

  private record(entry: Omit<StepRecord, 'index' | 'heldAfterMs' | 'faultId' | 'note' | 'group'>): void {
    const full: StepRecord = {
      ...entry,
      index: this.stepIndex++,
      heldAfterMs: null,
      faultId: null,
      note: null,
      group: null,
    };
    this.journal.steps.push(full);
    this.save();
    this.emit({ type: 'step', runId: this.runId, step: full });
  }

  private sample(series: string, result: ProbeResult): void {
    if (this.journal.samples.length >= MAX_SAMPLES) return;
    this.journal.samples.push({ series, at: Date.parse(result.at), value: result.chart, ok: result.ok });
  }

  private markers(): RunJournal['markers'] {
    return this.journal.faults
      .map((id) => this.ports.engine.get(id))
      .filter((r): r is FaultRecord => r !== undefined)
      .map((r) => ({
        faultId: r.id,
        description: r.description,
        appliedAt: Date.parse(r.startedAt),
        rolledBackAt: r.endedAt ? Date.parse(r.endedAt) : null,
      }));
  }

  private abort(reason: string): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason;
    this.emit({ type: 'aborting', runId: this.runId, reason });
    this.stop.abort(new Error(reason));
  }

  private throwIfStopped(): void {
    if (this.stop.signal.aborted) throw new Error(this.abortReason ?? 'stopped');
  }

  private probeContext(): ProbeContext {
    return { ports: this.ports, gateway: this.gateway, users: this.users, signal: this.stop.signal };
  }

  private save(): void {
    writeJournal(this.dir, this.journal);
  }

  private emit(event: ExperimentProgress): void {
    try {
      this.options.onProgress?.(event);
    } catch {
      // A listener's failure must not end the run (its rollbacks above all).
    }
  }

  // --- traffic --------------------------------------------------------------------------------

  /** Sends the experiment's requests at a steady rate; client-side figures go to the journal. */
  private startTraffic(traffic: NonNullable<Experiment['traffic']>): { stop(): Promise<void> } {
    const counts = { sent: 0, ok: 0, failed: 0, byStatus: {} as Record<string, number> };
    this.journal.traffic = counts;
    const controller = new AbortController();
    const inFlight = new Set<Promise<void>>();
    let next = 0;
    const ctx: ProbeContext = {
      ports: this.ports,
      gateway: this.gateway,
      users: this.users,
      signal: controller.signal,
    };
    const timer = setInterval(
      () => {
        // Bounded: a frozen gateway must not pile up thousands of sockets.
        if (inFlight.size >= 64) return;
        const request = traffic.requests[next++ % traffic.requests.length]!;
        counts.sent++;
        const at = Date.now();
        const done = callGateway(ctx, { ...request, timeoutMs: 15_000 })
          .then((answer) => {
            const key = String(answer.status);
            counts.byStatus[key] = (counts.byStatus[key] ?? 0) + 1;
            if (answer.status < 500) counts.ok++;
            else counts.failed++;
            this.pushTrafficSample(at, answer.latencyMs, answer.status < 500);
          })
          .catch(() => {
            if (controller.signal.aborted) return;
            counts.failed++;
            counts.byStatus.network = (counts.byStatus.network ?? 0) + 1;
            this.pushTrafficSample(at, null, false);
          })
          .finally(() => inFlight.delete(done));
        inFlight.add(done);
      },
      Math.max(5, 1000 / traffic.ratePerSecond),
    );
    return {
      stop: async () => {
        clearInterval(timer);
        controller.abort();
        await Promise.allSettled([...inFlight]);
      },
    };
  }

  private pushTrafficSample(at: number, latencyMs: number | null, ok: boolean): void {
    if (this.journal.samples.length >= MAX_SAMPLES) return;
    this.journal.samples.push({
      series: 'traffic (client-side latency)',
      at,
      value: latencyMs === null ? null : Math.round(latencyMs * 10) / 10,
      ok,
    });
  }
}

/** One explicit rollback action; shared with crash recovery (recover.ts). */
export async function runRollbackAction(
  ports: ExperimentPorts,
  action: RollbackAction,
  runId: string,
  step: (title: string, run: () => Promise<{ detail: string | null; value: null }>) => Promise<null>,
): Promise<void> {
  if (action.type === 'wait') {
    await step(`wait ${action.ms} ms`, async () => {
      await sleep(action.ms);
      return { detail: null, value: null };
    });
    return;
  }
  await step('rollback action', async () => {
    const r = await ports.engine.apply(action.fault, { origin: `experiment:${runId}:rollback` });
    if (r.state === 'failed') throw new Error(`${r.description}: ${r.error ?? 'failed'}`);
    return { detail: `${r.description}: ${r.state}`, value: null };
  });
}

/** `{{user:NAME}}` → the probe user's handle, in every string of the experiment. */
function fillTemplates(experiment: Experiment, users: ReadonlyMap<string, ProbeUser>): Experiment {
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string')
      return value.replaceAll(
        /\{\{user:([a-z0-9-]+)\}\}/g,
        (whole, name: string) => users.get(name)?.handle ?? whole,
      );
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  return fill(experiment) as Experiment;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): Error {
  const error = new Error(signal.reason instanceof Error ? signal.reason.message : 'aborted');
  error.name = 'AbortError';
  return error;
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Experiments view's state: the definitions (built-ins and the library), the one being edited
 * with its live check, the run in progress (followed through `experiment.progress`), and past runs.
 * One run at a time, whoever started it: a run started from the CLI or a schedule shows here too.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  CommandOutput,
  DefinitionProblemInfo,
  ExperimentEntryInfo,
  ExperimentProgressInfo,
  RunJournal,
  RunSummaryInfo,
  StepRecord,
  Verdict,
} from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';

export interface LiveRun {
  runId: string;
  title: string;
  startedAt: number;
  /** By step index: a step is announced when it begins and again when it ends. */
  steps: StepRecord[];
  aborting: string | null;
  verdict: Verdict | null;
  reason: string | null;
}

export type RunReport = CommandOutput<'experiments.report'>;

const CHECK_DELAY_MS = 300;

export const useExperimentsStore = defineStore('experiments', () => {
  const entries = ref<ExperimentEntryInfo[]>([]);
  const libraryDir = ref('');
  const runs = ref<RunSummaryInfo[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);

  /** The definition open in the editor: a listed name, or null for a new one. */
  const openName = ref<string | null>(null);
  const openEntry = computed(() => entries.value.find((e) => e.name === openName.value) ?? null);
  const source = ref('');
  const savedSource = ref('');
  const problems = ref<DefinitionProblemInfo[]>([]);
  const checkedTitle = ref<string | null>(null);
  const checking = ref(false);
  const saving = ref(false);
  const starting = ref(false);
  const actionError = ref<string | null>(null);

  const live = ref<LiveRun | null>(null);
  /** The run in progress, wherever it was started. */
  const runningId = ref<string | null>(null);
  /** A past run opened from the history. */
  const report = ref<RunReport | null>(null);

  const dirty = computed(() => source.value !== savedSource.value);

  async function refresh(): Promise<void> {
    try {
      const [list, past] = await Promise.all([api.experiments.list(), api.experiments.runs({ limit: 50 })]);
      entries.value = list.experiments;
      libraryDir.value = list.libraryDir;
      runs.value = past.runs;
      runningId.value = list.running;
      error.value = null;
      // A run started elsewhere (CLI, schedule) before this page was open: follow it from its journal.
      if (list.running && live.value?.runId !== list.running) await follow(list.running);
    } catch (e) {
      error.value = describeError(e);
    } finally {
      loaded.value = true;
    }
  }

  async function follow(runId: string): Promise<void> {
    const r = await api.experiments.report({ runId, html: false });
    live.value = {
      runId,
      title: r.journal.title,
      startedAt: Date.parse(r.journal.startedAt),
      steps: [...r.journal.steps],
      aborting: null,
      verdict: r.journal.verdict,
      reason: r.journal.reason,
    };
  }

  async function open(name: string | null): Promise<void> {
    actionError.value = null;
    openName.value = name;
    if (name === null) {
      source.value = savedSource.value = NEW_TEMPLATE;
      await check();
      return;
    }
    try {
      const got = await api.experiments.get({ name });
      source.value = savedSource.value = got.source;
      problems.value = got.problems;
      checkedTitle.value = (got.definition as { title?: string } | null)?.title ?? null;
    } catch (e) {
      actionError.value = describeError(e);
    }
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  let checkSeq = 0;
  /** Checks the text as it is typed (debounced); problems come back with their lines. */
  function edit(text: string): void {
    source.value = text;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), CHECK_DELAY_MS);
  }

  async function check(): Promise<void> {
    const seq = ++checkSeq;
    checking.value = true;
    try {
      const result = await api.experiments.validate({ source: source.value });
      if (seq !== checkSeq) return;
      problems.value = result.problems;
      checkedTitle.value = result.title;
    } catch (e) {
      if (seq === checkSeq) actionError.value = describeError(e);
    } finally {
      if (seq === checkSeq) checking.value = false;
    }
  }

  async function save(name: string): Promise<boolean> {
    saving.value = true;
    actionError.value = null;
    try {
      const { entry } = await api.experiments.save({ name, source: source.value });
      savedSource.value = source.value;
      await refresh();
      openName.value = entry.name;
      return true;
    } catch (e) {
      actionError.value = describeError(e);
      await check();
      return false;
    } finally {
      saving.value = false;
    }
  }

  /** Runs a listed experiment by name, or the editor's text as it is (unsaved changes included). */
  async function run(ref: string): Promise<void> {
    starting.value = true;
    actionError.value = null;
    report.value = null;
    try {
      const started = await api.experiments.run({ ref });
      runningId.value = started.runId;
      if (live.value?.runId !== started.runId)
        live.value = {
          runId: started.runId,
          title: started.title,
          startedAt: Date.now(),
          steps: [],
          aborting: null,
          verdict: null,
          reason: null,
        };
    } catch (e) {
      actionError.value = describeError(e);
    } finally {
      starting.value = false;
    }
  }

  async function abort(): Promise<void> {
    const id = runningId.value;
    if (!id) return;
    try {
      await api.experiments.abort({ runId: id });
    } catch (e) {
      actionError.value = describeError(e);
    }
  }

  async function openRun(runId: string): Promise<void> {
    try {
      report.value = await api.experiments.report({ runId, html: false });
    } catch (e) {
      actionError.value = describeError(e);
    }
  }

  function applyProgress(event: ExperimentProgressInfo): void {
    if (event.type === 'started') {
      runningId.value = event.runId;
      live.value = {
        runId: event.runId,
        title: event.title,
        startedAt: Date.now(),
        steps: [],
        aborting: null,
        verdict: null,
        reason: null,
      };
      return;
    }
    const run = live.value;
    if (!run || run.runId !== event.runId) {
      // Joined mid-run (events of a run this page did not see start).
      if (event.type !== 'finished') void follow(event.runId).catch(() => undefined);
      else void refresh();
      return;
    }
    if (event.type === 'step') {
      const at = run.steps.findIndex((s) => s.index === event.step.index);
      if (at >= 0) run.steps[at] = event.step;
      else run.steps.push(event.step);
    } else if (event.type === 'aborting') run.aborting = event.reason;
    else {
      run.verdict = event.verdict;
      run.reason = event.reason;
      runningId.value = null;
      void refresh();
    }
  }

  let subscribed = false;
  function subscribe(): void {
    if (subscribed) return;
    subscribed = true;
    api.on('experiment.progress', applyProgress);
  }

  return {
    entries,
    libraryDir,
    runs,
    loaded,
    error,
    openName,
    openEntry,
    source,
    problems,
    checkedTitle,
    checking,
    saving,
    starting,
    actionError,
    dirty,
    live,
    runningId,
    report,
    refresh,
    open,
    edit,
    check,
    save,
    run,
    abort,
    openRun,
    subscribe,
    applyProgress,
  };
});

/** Fault markers of a run: when each fault was applied and rolled back (ms after the start). */
export function faultMarkers(
  steps: readonly StepRecord[],
  startedAt: number,
): { faultId: string; title: string; from: number; to: number | null }[] {
  const out = new Map<string, { faultId: string; title: string; from: number; to: number | null }>();
  for (const s of steps) {
    if (!s.faultId || s.status !== 'ok' || !s.endedAt) continue;
    if (s.kind === 'fault')
      out.set(s.faultId, {
        faultId: s.faultId,
        title: s.title,
        from: Date.parse(s.endedAt) - startedAt,
        to: null,
      });
    else if (s.kind === 'rollback' || s.kind === 'rollback-fault') {
      const m = out.get(s.faultId);
      if (m) m.to = Date.parse(s.endedAt) - startedAt;
    }
  }
  return [...out.values()];
}

export type { RunJournal };

const NEW_TEMPLATE = `# Reference: docs/experiments.md
title: My experiment
description: What it breaks and what the design predicts.
users: [reader]
traffic:
  ratePerSecond: 2
  requests:
    - { path: '/api/timeline?limit=10', as: reader }
  warmupMs: 1000
steadyState:
  probes:
    - { type: http, name: timeline answers, path: '/api/timeline?limit=10', as: reader, expect: { status: [200] } }
method:
  - type: fault
    name: slow-tweets
    fault: { type: request, target: { service: tweets }, fault: { kind: latency, latencyMs: 200 }, durationMs: 30000 }
  - { type: wait, ms: 3000 }
  - type: probe
    probe: { type: http, name: timeline still answers, path: '/api/timeline?limit=10', as: reader, expect: { status: [200] } }
`;

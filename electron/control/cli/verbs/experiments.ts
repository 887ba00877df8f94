/**
 * The experiments verbs of `chaoscope`:
 *
 *   experiment list [--json]                  built-ins and the library
 *   experiment run <name|file> [--json]       runs one to its end; steps on stderr; exit 0 only on "passed"
 *   experiment report <runId> [--json]        a past run: verdict, reason, steps, where its reports are
 *   experiment abort <runId> [--json]         stops a run in progress (its rollbacks run)
 *
 * `run` prints step progress on stderr; its JSON has `verdict` (passed, failed, aborted, error) and
 * `report` (the HTML report's path). Ctrl+C aborts the run, waits for its rollbacks, and exits 130.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaoscopeApi } from '../../../api/client.ts';
import type { ExperimentProgressInfo, RunSummaryInfo } from '../../../api/experiment-commands.ts';
import type { StepRecord, Verdict } from '../../../api/experiments.ts';
import { UsageError } from '../args.ts';
import { painter, table, type Painter } from '../output.ts';
import type { VerbGroup } from './tools.ts';

const EXIT_INTERRUPTED = 130;

const VERDICT_STYLE: Record<Verdict, Parameters<Painter>[0]> = {
  passed: 'green',
  failed: 'red',
  aborted: 'yellow',
  error: 'red',
};

const STATUS_MARK: Record<StepRecord['status'], string> = {
  running: '…',
  ok: '✓',
  deviated: '✗',
  failed: '✗',
  skipped: '-',
  cancelled: '-',
};

/** What `experiments.run` gets: a name as it is, a file's text when the argument is a file. */
export function experimentRef(arg: string, cwd = process.cwd()): string {
  const looksLikeFile = arg.includes('/') || ['.yaml', '.yml', '.json'].includes(extname(arg));
  const path = resolve(cwd, arg);
  if (looksLikeFile) {
    if (!existsSync(path)) throw new UsageError(`no experiment file ${path}`);
    return readFileSync(path, 'utf8');
  }
  return arg;
}

export function stepLine(step: StepRecord, startedAt: number, paint: Painter): string {
  const at = `+${((Date.parse(step.endedAt ?? step.startedAt) - startedAt) / 1000).toFixed(1)}s`.padStart(7);
  const mark = STATUS_MARK[step.status];
  const style = step.status === 'ok' ? 'green' : step.status === 'running' ? 'dim' : 'red';
  const took = step.durationMs !== null ? ` (${step.durationMs} ms)` : '';
  const detail = step.detail ? ` — ${step.detail}` : '';
  const note = step.note ? ` [${step.note}]` : '';
  return `${paint('dim', at)} ${paint(style, mark)} ${paint('dim', step.phase.padEnd(19))} ${step.title}${took}${detail}${note}`;
}

function summaryText(run: RunSummaryInfo, paint: Painter): string {
  const verdict = run.verdict ?? run.state;
  const lines = [
    `${run.title}: ${run.verdict ? paint(VERDICT_STYLE[run.verdict], verdict) : verdict}`,
    ...(run.reason ? [`  ${run.reason}`] : []),
    `  run ${run.runId}${run.runtime ? ` on ${run.runtime}` : ''}, ${run.startedAt}${run.endedAt ? ` → ${run.endedAt}` : ''}`,
    ...(run.reports.html ? [`  report:   ${run.reports.html}`] : []),
    ...(run.reports.markdown ? [`  markdown: ${run.reports.markdown}`] : []),
    `  journal:  ${run.reports.journal}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Waits for the run's end: its `finished` event, or (should events be lost) the journal saying so. */
async function waitForEnd(api: ChaoscopeApi, runId: string, finished: Promise<unknown>): Promise<void> {
  let over = false;
  void finished.then(() => (over = true));
  while (!over) {
    await Promise.race([finished, sleep(2_000)]);
    if (over) return;
    const { summary } = await api.experiments.report({ runId, html: false });
    if (summary.state === 'finished') return;
  }
}

export const experimentsVerbs: VerbGroup = (program, tools) => {
  const { ctx } = tools;
  const group = program
    .command('experiment')
    .description('experiments: a steady-state hypothesis, chaos, rollbacks that always run, a verdict');

  group
    .command('list')
    .description('the built-in scenarios and your library')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await (await tools.api()).experiments.list();
      const paint = tools.paint();
      tools.print(options, list, () => {
        const rows = list.experiments.map((e) => [
          { text: e.name },
          { text: e.origin, style: e.origin === 'builtin' ? ('dim' as const) : undefined },
          {
            text: e.problem ? `cannot run: ${e.problem.split('\n')[0]}` : e.title,
            ...(e.problem ? { style: 'red' as const } : {}),
          },
        ]);
        return `${table(['NAME', 'ORIGIN', 'TITLE'], rows, paint)}\nyour own: ${list.libraryDir}${list.running ? `\nrunning now: ${list.running}` : ''}\n`;
      });
    });

  group
    .command('run')
    .description('run an experiment (a name from `experiment list`, or a .yaml/.json file) to its end')
    .argument('<name|file>', 'a built-in or library name, or a definition file')
    .option('--json', 'print the outcome as JSON')
    .action(async (arg: string, options: { json?: boolean }) => {
      const ref = experimentRef(arg);
      const api = await tools.api();
      const err = painter(ctx.stderr, ctx.env);
      let runId: string | null = null;
      let startedAt = Date.now();
      const printed = new Set<number>();
      const early: ExperimentProgressInfo[] = [];
      let onFinished: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (onFinished = resolve));
      const show = (event: ExperimentProgressInfo) => {
        if (event.type === 'step' && event.step.status !== 'running' && !printed.has(event.step.index)) {
          printed.add(event.step.index);
          ctx.stderr.write(`${stepLine(event.step, startedAt, err)}\n`);
        } else if (event.type === 'aborting') ctx.stderr.write(`aborting: ${event.reason}; rolling back…\n`);
        else if (event.type === 'finished') onFinished();
      };
      const off = api.on('experiment.progress', (event) => {
        if (runId === null) early.push(event);
        else if (event.runId === runId) show(event);
      });
      const stopWatching = tools.interrupted(finished);
      try {
        // Give the event stream a moment to open, so the first steps are seen as they happen
        // (anything missed is printed from the journal at the end).
        await sleep(300);
        const started = await api.experiments.run({ ref });
        runId = started.runId;
        startedAt = Date.now();
        ctx.stderr.write(`${err('bold', started.title)}: run ${runId}\n`);
        for (const event of early.splice(0)) if (event.runId === runId) show(event);
        let interrupted = false;
        void stopWatching.done.then(async (why) => {
          if (why !== 'signal') return;
          interrupted = true;
          ctx.stderr.write('interrupted: aborting the run; its rollbacks run first…\n');
          await api.experiments.abort({ runId: started.runId }).catch(() => undefined);
        });
        await waitForEnd(api, runId, finished);
        const report = await api.experiments.report({ runId, html: false });
        startedAt = Date.parse(report.journal.startedAt);
        for (const step of report.journal.steps)
          if (step.status !== 'running' && !printed.has(step.index)) {
            printed.add(step.index);
            ctx.stderr.write(`${stepLine(step, startedAt, err)}\n`);
          }
        const { summary } = report;
        const verdict = summary.verdict ?? 'error';
        tools.print(
          options,
          {
            runId,
            title: summary.title,
            verdict,
            reason: summary.reason,
            report: summary.reports.html,
            markdown: summary.reports.markdown,
            journal: summary.reports.journal,
            startedAt: summary.startedAt,
            endedAt: summary.endedAt,
            durationMs: summary.endedAt ? Date.parse(summary.endedAt) - Date.parse(summary.startedAt) : null,
          },
          () => summaryText(summary, tools.paint()),
        );
        tools.setExit(interrupted ? EXIT_INTERRUPTED : verdict === 'passed' ? 0 : 1);
      } finally {
        off();
        stopWatching.dispose();
      }
    });

  group
    .command('report')
    .description('a run: verdict, reason, steps and where its reports are')
    .argument('<runId>', 'as `experiment run` printed it')
    .option('--json', 'print JSON (the summary, the journal and the Markdown report)')
    .action(async (runId: string, options: { json?: boolean }) => {
      const report = await (await tools.api()).experiments.report({ runId, html: false });
      const paint = tools.paint();
      tools.print(options, report, () => {
        const start = Date.parse(report.journal.startedAt);
        const steps = report.journal.steps.map((s) => stepLine(s, start, paint)).join('\n');
        return `${summaryText(report.summary, paint)}\n${steps}\n`;
      });
    });

  group
    .command('abort')
    .description('stop a run in progress (its rollbacks still run)')
    .argument('<runId>')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const answer = await (await tools.api()).experiments.abort({ runId });
      tools.print(options, answer, () =>
        answer.aborting
          ? `aborting ${runId}; its rollbacks run before it ends\n`
          : `${runId} is not running\n`,
      );
    });
};

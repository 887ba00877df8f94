/**
 * The trace view in real Chromium over web mode, with 20,000- and 50,000-span traces sent through
 * the real OTLP exporter to the control plane's collector (`BENCH_PARTS=trace-view npm run bench`,
 * or alone: `node bench/trace-view.ts`). Per trace size, medians over BENCH_TRACE_RUNS opens:
 * - first paint: from the route change to the first frame painted with waterfall rows;
 * - interactive: from the route change to the end of the last long task (> 50 ms) after which the
 *   page stays free of long tasks for 500 ms (Lighthouse's TTI, shorter window), with the load's
 *   breakdown (server call, unpack, model) from the view's performance measures;
 * - expand/collapse: clicking a subtree's fold button (the root's first child, and the root),
 *   collapse all and expand all, until the second frame after the click has painted;
 * - span details: a double-click on a row not opened before, until its attributes are on screen;
 * - in-trace search: typing a query that matches attribute values, until the match count shows.
 * Prints JSON on stdout. Env: BENCH_TRACE_SIZES (default 20000,50000), BENCH_TRACE_RUNS (3),
 * BENCH_TRACE_PROFILE_DIR (write a Chromium CPU profile of one more open per size there).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { sendBigTraceStored } from '../test/browser/traces-big-trace.ts';
import { openDashboard, type Browsing } from '../test/browser/support/browser.ts';
import { buildDashboard, startLab, tempDir, type Lab } from '../test/browser/support/lab.ts';
import { round } from './load.ts';

const SIZES = (process.env.BENCH_TRACE_SIZES ?? '20000,50000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_TRACE_RUNS ?? 3);
/** When set, a Chromium CPU profile of one extra open per size is written there. */
const PROFILE_DIR = process.env.BENCH_TRACE_PROFILE_DIR;

/** The targets of the issue, and Jaeger UI's figures the issue quotes, for the report. */
export const TARGETS = { interactiveMs: 1_000, foldMs: 100, detailsMs: 100 } as const;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : round(s[Math.floor((s.length - 1) / 2)]!, 1);
};

interface OpenTiming {
  firstPaintMs: number;
  interactiveMs: number;
  measures: Record<string, number>;
}

/** Route to the trace from the search view and time the first paint and the first free moment. */
async function openTrace(page: Page, traceId: string): Promise<OpenTiming> {
  await page.evaluate(`location.hash = '#/traces'`);
  await page.waitForSelector('.traces-view, [data-testid="trace-search-form"], main', { timeout: 30_000 });
  await page.waitForTimeout(300);
  return page.evaluate<OpenTiming>(`(async () => {
    performance.clearMeasures();
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const longTasks = [];
    const observer = new PerformanceObserver((list) => longTasks.push(...list.getEntries()));
    observer.observe({ type: 'longtask' });
    const t0 = performance.now();
    location.hash = '#/traces/${traceId}';
    for (;;) {
      await frame();
      if (document.querySelector('[data-testid="waterfall"] [role="treeitem"]')) break;
      if (performance.now() - t0 > 120000) throw new Error('no rows after 120 s');
    }
    // The rows exist at this frame's start; they are on screen once the next frame begins.
    await frame();
    const firstPaintMs = performance.now() - t0;
    // Interactive: after the first paint, the end of the last long task (> 50 ms: what a click
    // would wait behind) before a quiet 500 ms, as Lighthouse's TTI with a shorter window.
    let quietSince = performance.now();
    let seen = 0;
    while (performance.now() - quietSince < 500) {
      await new Promise((r) => setTimeout(r, 50));
      observer.takeRecords().forEach((e) => longTasks.push(e));
      if (longTasks.length !== seen) {
        seen = longTasks.length;
        quietSince = performance.now();
      }
      if (performance.now() - t0 > 120000) break;
    }
    observer.disconnect();
    const lastEnd = longTasks.reduce((m, e) => Math.max(m, e.startTime + e.duration), 0);
    const interactiveMs = Math.max(firstPaintMs, lastEnd - t0);
    const measures = {};
    for (const m of performance.getEntriesByType('measure')) {
      if (m.name.startsWith('trace:')) measures[m.name.slice(6)] = Math.round(m.duration * 10) / 10;
    }
    return { firstPaintMs, interactiveMs, measures };
  })()`);
}

/** Click what `selector` finds (the n-th match) and time until the second frame after it painted. */
async function timeClick(page: Page, selector: string, nth = 0): Promise<number> {
  return page.evaluate<number>(`(async () => {
    const el = document.querySelectorAll(${JSON.stringify(selector)})[${nth}];
    if (!el) throw new Error('nothing matches ${selector.replace(/'/g, '')}');
    const t0 = performance.now();
    el.click();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
  })()`);
}

const rowsShown = async (page: Page) =>
  Number(await page.locator('[data-testid="waterfall"]').getAttribute('data-rows'));

/** Double-click the row of the n-th span on screen and time until its attributes show. */
async function timeDetails(page: Page, nth: number): Promise<number> {
  return page.evaluate<number>(`(async () => {
    const row = document.querySelectorAll('[data-testid="waterfall"] [role="treeitem"]')[${nth}];
    const id = row.getAttribute('data-span-id');
    const t0 = performance.now();
    row.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    for (;;) {
      const panel = document.querySelector('[data-testid="span-details"]');
      if (panel && panel.textContent.includes(id) && panel.querySelector('[data-testid="span-attributes"] tr')) break;
      if (performance.now() - t0 > 30000) throw new Error('no details after 30 s');
      await new Promise((r) => requestAnimationFrame(r));
    }
    await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t0;
  })()`);
}

/** Type a query into the in-trace search and time until a match count shows. */
async function timeSearch(page: Page, text: string): Promise<{ ms: number; count: string }> {
  return page.evaluate<{ ms: number; count: string }>(`(async () => {
    const input = document.querySelector('[data-testid="trace-search"]');
    input.value = '';
    input.dispatchEvent(new Event('input'));
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    input.value = ${JSON.stringify(text)};
    input.dispatchEvent(new Event('input'));
    for (;;) {
      const c = document.querySelector('[data-testid="match-count"]');
      if (c && /^\\d+ \\/ \\d+/.test(c.textContent.trim())) return { ms: performance.now() - t0, count: c.textContent.trim() };
      if (performance.now() - t0 > 30000) throw new Error('no match count after 30 s');
      await new Promise((r) => requestAnimationFrame(r));
    }
  })()`);
}

export interface TraceViewSize {
  spans: number;
  runs: number;
  firstPaintMs: number;
  interactiveMs: number;
  /** Medians of the view's own measures during the open (server call, unpack, model…). */
  breakdownMs: Record<string, number>;
  outlineBytes: number;
  subtreeCollapseMs: number;
  subtreeExpandMs: number;
  rootCollapseMs: number;
  rootExpandMs: number;
  collapseAllMs: number;
  expandAllMs: number;
  detailsMs: number;
  searchMs: number;
  searchMatches: string;
}

export interface TraceViewBench {
  when: string;
  targets: typeof TARGETS;
  sizes: TraceViewSize[];
}

async function measureSize(lab: Lab, page: Page, count: number): Promise<TraceViewSize> {
  const traceId = await sendBigTraceStored(lab, count, 300_000);
  const outlineBytes = await page.evaluate<number>(`(async () => {
    const r = await fetch('/api/v1/invoke/traces.outline', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ traceId: '${traceId}' }) });
    return (await r.text()).length;
  })()`);

  const opens: OpenTiming[] = [];
  if (PROFILE_DIR) {
    // One extra open under Chromium's CPU profiler (not counted): where the time goes in the page.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
    await openTrace(page, traceId);
    await page.waitForTimeout(3_000);
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `trace-view-${count}.cpuprofile`), JSON.stringify(profile));
    await cdp.detach();
  }
  const fold: Record<string, number[]> = {};
  const add = (k: string, v: number) => (fold[k] ??= []).push(v);
  const details: number[] = [];
  const search: { ms: number; count: string }[] = [];
  for (let run = 0; run < RUNS; run++) {
    opens.push(await openTrace(page, traceId));
    if ((await rowsShown(page)) !== count) throw new Error(`expected ${count} rows`);
    const foldButton = '[data-testid="waterfall"] [role="treeitem"] button.fold';
    // The second fold button on screen is the root's first child (a fifth of the trace).
    add('subtreeCollapseMs', await timeClick(page, foldButton, 1));
    if ((await rowsShown(page)) >= count) throw new Error('the subtree did not fold');
    add('subtreeExpandMs', await timeClick(page, foldButton, 1));
    add('rootCollapseMs', await timeClick(page, foldButton, 0));
    if ((await rowsShown(page)) !== 1) throw new Error('the root did not fold');
    add('rootExpandMs', await timeClick(page, foldButton, 0));
    add('collapseAllMs', await timeClick(page, '[data-testid="collapse-all"]'));
    add('expandAllMs', await timeClick(page, '[data-testid="expand-all"]'));
    if ((await rowsShown(page)) !== count) throw new Error('expand all did not show every row');
    for (const nth of [3, 5, 7]) details.push(await timeDetails(page, nth));
    search.push(await timeSearch(page, '/bench/7'));
  }
  const keys = new Set(opens.flatMap((o) => Object.keys(o.measures)));
  return {
    spans: count,
    runs: RUNS,
    firstPaintMs: median(opens.map((o) => o.firstPaintMs)),
    interactiveMs: median(opens.map((o) => o.interactiveMs)),
    breakdownMs: Object.fromEntries(
      [...keys].map((k) => [k, median(opens.map((o) => o.measures[k] ?? NaN))]),
    ),
    outlineBytes,
    subtreeCollapseMs: median(fold.subtreeCollapseMs!),
    subtreeExpandMs: median(fold.subtreeExpandMs!),
    rootCollapseMs: median(fold.rootCollapseMs!),
    rootExpandMs: median(fold.rootExpandMs!),
    collapseAllMs: median(fold.collapseAllMs!),
    expandAllMs: median(fold.expandAllMs!),
    detailsMs: median(details),
    searchMs: median(search.map((s) => s.ms)),
    searchMatches: search.at(-1)?.count ?? '',
  };
}

export async function traceViewBench(): Promise<TraceViewBench> {
  const dist = tempDir('chaoscope-bench-dist-');
  let lab: Lab | undefined;
  let web: Browsing | undefined;
  try {
    await buildDashboard(dist);
    lab = await startLab(dist, { cluster: false });
    web = await openDashboard(lab);
    const sizes: TraceViewSize[] = [];
    for (const count of SIZES) {
      sizes.push(await measureSize(lab, web.page, count));
      console.error(JSON.stringify(sizes.at(-1)));
    }
    return { when: new Date().toISOString(), targets: TARGETS, sizes };
  } finally {
    await web?.close().catch(() => undefined);
    await lab?.stop().catch(() => undefined);
    rmSync(dist, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await traceViewBench(), null, 2));
  process.exit(0);
}

/**
 * Large traces in the trace view, in real Chromium: 20,000- and 50,000-span traces sent with the
 * real OTLP exporter to a real collector open, scroll, fold and show span details. Speed is
 * measured and written to test-results/trace-view-large.json (never asserted: shared machine).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sendBigTraceStored } from './traces-big-trace.ts';
import { openDashboard, screenshot, type Browsing } from './support/browser.ts';
import { buildDashboard, startLab, tempDir, type Lab } from './support/lab.ts';

let lab: Lab;
let web: Browsing;
let page: Page;
let dist: string;
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  dist = tempDir('chaoscope-ui2-dist-');
  await buildDashboard(dist);
  lab = await startLab(dist, { cluster: false });
  web = await openDashboard(lab);
  page = web.page;
}, 300_000);

afterAll(async () => {
  const out = join(new URL('../../', import.meta.url).pathname, 'test-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'trace-view-large.json'),
    JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length }, ...figures }, null, 2),
  );
  await web?.close();
  await lab?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
}, 120_000);

interface FrameStats {
  frames: number;
  p50: number;
  p95: number;
  max: number;
  over50ms: number;
}

/** Scroll the waterfall by `step` px a frame for `frames` frames; frame-to-frame times in ms. */
async function scrollFrames(step: number, frames: number): Promise<FrameStats> {
  return page.evaluate<FrameStats>(`(async () => {
    const el = document.querySelector('[data-testid="waterfall"]');
    const times = [];
    let last = performance.now();
    for (let i = 0; i < ${frames}; i++) {
      el.scrollTop += ${step};
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    return { frames: times.length, p50: q(0.5), p95: q(0.95), max: times[times.length - 1], over50ms: times.filter((t) => t > 50).length };
  })()`);
}

/** Click `selector` and time until the next two frames have painted (ms). */
async function timeClick(selector: string): Promise<number> {
  return page.evaluate<number>(`(async () => {
    const t0 = performance.now();
    document.querySelector(${JSON.stringify(selector)}).click();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - t0;
  })()`);
}

const rows = async () => Number(await page.locator('[data-testid="waterfall"]').getAttribute('data-rows'));

describe.each([20_000, 50_000])('a %i-span trace', (count) => {
  it('opens, scrolls, folds and shows span details', async () => {
    const traceId = await sendBigTraceStored(lab, count, 180_000);

    // Open: from navigation to rows on screen.
    await page.goto(`${lab.plane.url}/#/traces`);
    const t0 = Date.now();
    await page.goto(`${lab.plane.url}/#/traces/${traceId}`);
    await page.waitForSelector('[data-testid="waterfall"] [role="treeitem"]', { timeout: 120_000 });
    const openMs = Date.now() - t0;
    expect(await rows()).toBe(count);
    const loadText = await page.locator('[data-testid="trace-timing"]').textContent();
    // The DOM holds only the rows near the screen, whatever the trace's size.
    const domRows = await page.locator('[data-testid="waterfall"] [role="treeitem"]').count();
    expect(domRows).toBeLessThan(120);

    // Baselines from the same page and moment: frames with nothing to do, and the bare API call
    // (HTTP + JSON, no contract validation, no model) that the view's load time contains.
    const idle = await scrollFrames(0, 60);
    const rawCall = (command: string) =>
      page.evaluate<{ ms: number; bytes: number }>(`(async () => {
      const t0 = performance.now();
      const r = await fetch('/api/v1/invoke/${command}', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ traceId: '${traceId}' }) });
      const text = await r.text();
      JSON.parse(text);
      return { ms: performance.now() - t0, bytes: text.length };
    })()`);
    const raw = await rawCall('traces.outline');
    // What the view used to load before the outline existed (every span whole), for comparison.
    const rawWhole = await rawCall('traces.get');
    const scroll = await scrollFrames(2_400, 120);
    const jump = await scrollFrames(count * 2, 20);
    await screenshot(page, `trace-${count / 1000}k-scrolled`);

    const collapseMs = await timeClick('[data-testid="collapse-all"]');
    const collapsedRows = await rows();
    expect(collapsedRows).toBeLessThan(count);
    const expandMs = await timeClick('[data-testid="expand-all"]');
    expect(await rows()).toBe(count);

    // Fold one subtree by its toggle.
    const toggleMs = await timeClick('[data-testid="waterfall"] [role="treeitem"] button.fold');
    expect(await rows()).toBeLessThan(count);
    await timeClick('[data-testid="expand-all"]');

    // Span details on demand.
    const detailsMs = await page.evaluate<number>(`(async () => {
      const t0 = performance.now();
      const row = document.querySelectorAll('[data-testid="waterfall"] [role="treeitem"]')[3];
      row.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
      for (;;) {
        if (document.querySelector('[data-testid="span-attributes"] tr')) break;
        await new Promise((r) => requestAnimationFrame(r));
      }
      return performance.now() - t0;
    })()`);
    expect(await page.locator('[data-testid="span-attributes"]').textContent()).toContain('bench.index');

    // In-trace search over every span (names, services, ids: the outline has no attributes).
    const searchStart = Date.now();
    await page.locator('[data-testid="trace-search"]').fill('SELECT users');
    await expect
      .poll(() => page.locator('[data-testid="match-count"]').textContent(), { timeout: 30_000 })
      .toMatch(/^1 \/ \d+/);
    const searchMs = Date.now() - searchStart;
    await screenshot(page, `trace-${count / 1000}k-details`);

    figures[`spans${count}`] = {
      openMs,
      loaded: loadText?.trim(),
      domRows,
      rawTracesOutline: raw,
      rawTracesGet: rawWhole,
      idleFrames: idle,
      scrollSmooth: scroll,
      scrollJumps: jump,
      collapseAllMs: collapseMs,
      collapsedRows,
      expandAllMs: expandMs,
      toggleSubtreeMs: toggleMs,
      detailsMs,
      searchMs,
    };
    console.log(JSON.stringify({ spans: count, ...(figures[`spans${count}`] as object) }));
  });
});

/**
 * The dashboard in real Chromium over web mode, as an operator uses it: open the tokenised URL,
 * start the cluster from the top bar, walk every view in both themes with loadgen's traffic flowing
 * (the pictures go to docs/screenshots/<view>-<theme>.png, committed; the others to
 * test-results/screenshots/), kill timeline from the topology and watch its node and the
 * gateway→timeline breaker go red, restart it and watch it heal; faults in and out; no console error.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DOCS_VIEWPORT,
  browserMissing,
  docsScreenshot,
  launch,
  openPage,
  screenshot,
} from './support/browser.ts';
import { eventually, startBench, type Bench } from './support/lab.ts';
import { QUICK } from './support/experiments.ts';

const missing = browserMissing();
if (missing) console.warn(`[browser tier] SKIPPED: ${missing}`);

/** How long a view's live data takes to fill the picture (charts poll every few seconds). */
const SETTLE_MS: Record<string, number> = { overview: 4_000, metrics: 5_000, load: 10_000, breakers: 3_000 };
/** Views opened on something other than their default (the cluster is minutes old: 5 min fills the chart). */
const HASHES: Record<string, string> = { metrics: '#/metrics?service=gateway&range=5m' };

const VIEWS = ['overview', 'traces', 'metrics', 'breakers', 'chaos', 'auth', 'registry', 'load', 'logs'];
/** How long the cluster runs before the walk, at least: the charts show the traffic so far (CI time is budgeted). */
const CHART_MINUTES_MS = 30_000;

describe.skipIf(missing !== null)('dashboard in Chromium over web mode', () => {
  let bench: Bench;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  /** When every service was first healthy: the docs' charts want minutes of traffic after it. */
  let healthyAt = Date.now();

  const go = async (hash: string) => {
    await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
    await page.waitForSelector('main h1');
  };
  const pillState = (selector: string) => page.locator(selector).first().getAttribute('data-state');

  beforeAll(async () => {
    bench = await startBench({ gatewayPort: 18280 });
    browser = await launch();
    ({ page, problems } = await openPage(browser, bench.dashboard, {
      colorScheme: 'dark',
      ...DOCS_VIEWPORT,
    }));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await bench?.stop();
  }, 120_000);

  it('opens from the tokenised URL, drops the token from the address bar, and says what to do first', async () => {
    await page.getByTestId('overview-empty').waitFor({ timeout: 30_000 });
    expect(page.url()).not.toContain('token=');
    await expect(page.getByTestId('cluster-start').isEnabled()).resolves.toBe(true);
    await screenshot(page, 'ui-overview-empty-dark');
    expect(problems).toEqual([]);
  });

  it('starts the cluster from the top bar, with a progress bar, until every service is healthy', async () => {
    await page.getByTestId('cluster-start').click();
    await page.getByRole('progressbar', { name: 'Cluster start-up' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'ui-starting-dark');
    const health = await eventually(
      async () => {
        const text = (await page.getByTestId('cluster-health').textContent({ timeout: 1_000 })) ?? '';
        const m = /(\d+)\/(\d+) healthy/.exec(text);
        return m && m[1] === m[2] && Number(m[2]) >= 8 ? text : null;
      },
      'every service healthy in the top bar',
      420_000,
    );
    expect(health).toMatch(/8\/8 healthy/);
    healthyAt = Date.now();
  }, 480_000);

  it('shows the live topology with traffic and a side panel per service', async () => {
    await go('#/overview');
    await page.getByTestId('topology').waitFor();
    await eventually(
      async () => (await pillState('[data-testid="svc-timeline"] .pill')) === 'healthy',
      'timeline healthy',
    );
    await page.getByTestId('svc-gateway').click();
    await page.getByTestId('node-panel').waitFor();
    // Recent traces link to the trace view: traffic from loadgen reaches the store within seconds.
    const link = await eventually(
      async () => {
        const first = page.locator('[data-testid^="trace-link-"]').first();
        return (await first.count()) > 0 ? first : null;
      },
      'a recent gateway trace in the side panel',
      90_000,
    );
    expect(await link.getAttribute('href')).toMatch(/#\/traces\/[0-9a-f]{32}$/);
    await page.waitForTimeout(1_500);
    await screenshot(page, 'ui-overview-gateway-dark');
  });

  it('kills timeline from the topology: its node and the gateway→timeline breaker go red; restart heals both', async () => {
    await go('#/overview');
    await page.getByTestId('svc-timeline').click();
    await page.getByTestId('node-panel').waitFor();
    await page.getByTestId('action-kill').click();
    await eventually(
      async () => (await pillState('[data-testid="svc-timeline"] .pill')) === 'down',
      'timeline node down',
      30_000,
    );
    await eventually(
      async () => (await pillState('[data-testid="node-health"]')) === 'down',
      'the side panel says down',
      10_000,
    );
    // loadgen keeps reading home timelines, so the gateway's breaker for timeline trips.
    await eventually(
      () => topologyEdgeOpen(page),
      'the gateway→timeline call marked open in the side panel',
      90_000,
    );
    await page.waitForTimeout(2_000);
    await screenshot(page, 'ui-overview-timeline-killed-dark');

    await go('#/breakers');
    const tile = page.locator('[data-breaker="gateway:timeline"]').first();
    await eventually(
      async () => (await tile.getAttribute('data-state')) === 'open',
      'the gateway:timeline tile open',
      90_000,
    );
    await screenshot(page, 'ui-breakers-open-dark');

    await go('#/overview?select=timeline');
    await page.getByTestId('action-restart').click();
    // A restart on a busy 2-core machine can take a while: bundles are reused, readiness is polled.
    await eventually(
      async () => (await pillState('[data-testid="svc-timeline"] .pill')) === 'healthy',
      'timeline healthy again',
      240_000,
    ).catch(async (error: unknown) => {
      await screenshot(page, 'ui-debug-restart');
      const toasts = await page.locator('.toast').allTextContents();
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; toasts: ${toasts.join(' | ')}`,
      );
    });
    await go('#/breakers');
    await eventually(
      async () =>
        (await page.locator('[data-breaker="gateway:timeline"]').first().getAttribute('data-state')) ===
        'closed',
      'the gateway:timeline breaker closed again',
      120_000,
    );
    await screenshot(page, 'ui-breakers-healed-dark');
  }, 600_000);

  it('trips and resets a breaker from its tile, and links to the traces it short-circuited', async () => {
    await go('#/breakers');
    const tile = page.locator('[data-breaker="gateway:users"]').first();
    await tile.waitFor();
    await tile.getByTestId('breaker-trip').click();
    await eventually(
      async () => (await tile.getAttribute('data-state')) === 'forced-open',
      'gateway:users forced open',
      30_000,
    );
    await tile.getByTestId('breaker-reset').click();
    await eventually(
      async () => (await tile.getAttribute('data-state')) === 'closed',
      'gateway:users back to automatic',
      30_000,
    );
    await tile.getByTestId('breaker-traces').click();
    await eventually(async () => page.url().includes('#/traces?'), 'the traces search');
    const url = new URL(page.url().replace('#/', ''));
    expect(url.searchParams.get('service')).toBe('gateway');
    expect(url.searchParams.get('attrs')).toBe('error.type=breaker_open');
  });

  // After the kill and the breaker trip: the charts then show minutes of traffic with their markers.
  it('walks every view in both themes with live traffic, saving the docs’ screenshots, with no console error', async () => {
    // The trace view shows the richest recent gateway trace; the Chaos view a schedule that ran once.
    const trace = await eventually(
      async () => {
        const found = await bench.invoke('traces.search', { service: 'gateway', limit: 100 });
        const rich = found.traces.filter((t) => t.services.length >= 3);
        return rich.sort((a, b) => b.spanCount - a.spanCount)[0] ?? null;
      },
      'a gateway trace through three services',
      90_000,
    );
    const schedule = await bench.invoke('schedules.create', {
      name: 'slow tweets now and then',
      everyMs: 15 * 60_000,
      blastRadius: { maxActiveFaults: 1, maxInstancePercent: 100 },
      what: {
        kind: 'fault',
        fault: {
          type: 'request',
          target: { service: 'tweets' },
          fault: { kind: 'latency', latencyMs: 80, jitterMs: 20, probability: 0.5 },
          durationMs: 10 * 60_000,
        },
      },
    });
    await bench.invoke('schedules.run', { id: schedule.id });
    // The Experiments view shows a finished run (a short one), not its empty state.
    const { runId } = await bench.invoke('experiments.run', { ref: QUICK });
    await eventually(
      async () => {
        const { runs } = await bench.invoke('experiments.runs', { limit: 5 });
        return runs.find((r) => r.runId === runId)?.verdict ?? null;
      },
      'the short experiment’s verdict',
      120_000,
    );
    await page.waitForTimeout(Math.max(0, healthyAt + CHART_MINUTES_MS - Date.now()));
    const views = [
      ...VIEWS.map((view) => ({ name: view, hash: HASHES[view] ?? `#/${view}` })),
      { name: 'experiments', hash: `#/experiments?run=${runId}` },
      { name: 'trace', hash: `#/traces/${trace.traceId}` },
    ];
    const seen: string[] = [];
    try {
      for (const theme of ['dark', 'light'] as const) {
        await page.emulateMedia({ colorScheme: theme });
        await eventually(
          async () => (await page.evaluate('document.documentElement.dataset.theme')) === theme,
          `${theme} theme`,
        );
        for (const { name, hash } of views) {
          const before = problems.length;
          await go(hash);
          if (name === 'trace')
            await page.locator('[data-testid="waterfall"] [role="treeitem"]').first().waitFor();
          // Give live data a moment to arrive (polls every 2–5 s) so the picture shows it.
          await page.waitForTimeout(SETTLE_MS[name] ?? 2_500);
          await docsScreenshot(page, name, theme);
          seen.push(...problems.slice(before).map((p) => `${theme} ${name}: ${p}`));
        }
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'dark' });
      await bench.invoke('schedules.remove', { id: schedule.id });
      await bench.invoke('chaos.reset');
    }
    // The next test starts from no fault at all: wait until the page has heard of the rollback.
    await eventually(
      async () => (await page.getByTestId('reset-all-faults').count()) === 0,
      'no fault left on the page after the walk',
      30_000,
    );
    expect(seen).toEqual([]);
  }, 600_000);

  it('injects a fault (dry run first), counts it down, and "reset all faults" clears it', async () => {
    await go('#/chaos?service=users');
    await page.getByTestId('fault-dry-run').check();
    await page.getByTestId('fault-inject').click();
    await page.getByText(/Dry run: would inject latency/).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('active-faults').count()).toBe(0);
    await page.getByTestId('fault-dry-run').uncheck();
    await page.getByTestId('fault-inject').click();
    await page.getByTestId('active-faults').waitFor({ timeout: 15_000 });
    await expect(page.getByTestId('active-faults').textContent()).resolves.toMatch(/latency 300 ms/);
    // Visible from every view while a fault is active.
    await go('#/overview');
    const reset = page.getByTestId('reset-all-faults');
    await reset.waitFor();
    await screenshot(page, 'ui-fault-active-dark');
    await reset.click();
    await eventually(async () => (await page.getByTestId('reset-all-faults').count()) === 0, 'no fault left');
    const left = await bench.invoke('faults.list');
    expect(left.faults).toEqual([]);
  });

  it('follows and searches a service log', async () => {
    await go('#/logs?service=gateway');
    const lines = page.getByTestId('log-lines');
    await eventually(async () => (await lines.locator('.line').count()) > 0, 'gateway log lines');
    await page.locator('#log-search').fill('zz-no-such-line-zz');
    await page.getByText(/No line of gateway contains/).waitFor();
    await page.locator('#log-search').fill('');
    expect(problems).toEqual([]);
  });

  it('shows the keyboard help with ? and switches views with number keys', async () => {
    await go('#/overview');
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await screenshot(page, 'ui-help-dark');
    await page.keyboard.press('Escape');
    await page.keyboard.press('4');
    await eventually(async () => page.url().endsWith('#/breakers'), 'the breakers view by key');
  });
});

/** The Overview's service strip mirrors the graph's model; the edge state shows in the side panel's calls. */
async function topologyEdgeOpen(page: Page): Promise<boolean> {
  const text = (await page.getByTestId('node-panel').textContent()) ?? '';
  return /gateway → timeline[\s\S]*open/i.test(text);
}

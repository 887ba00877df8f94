/**
 * The Experiments view in real Chromium over web mode: a definition typed into the editor shows
 * its problems at their lines, saves into the library once fixed, runs live against a real
 * cluster of processes (steps and the fault as they happen), ends with its verdict banner, lands in
 * the history, and its HTML report opens through the web server. No console error, no CSP violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launch, openPage, screenshot } from './support/browser.ts';
import { eventually, startBench, type Bench } from './support/lab.ts';
import { QUICK } from './support/experiments.ts';

const missing = browserMissing();
if (missing) console.warn(`[browser tier] SKIPPED: ${missing}`);

describe.skipIf(missing !== null)('the Experiments view in Chromium', () => {
  let bench: Bench;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    bench = await startBench({ gatewayPort: 18_680 });
    await bench.invoke('cluster.up', { runtime: 'process' });
    browser = await launch();
    ({ page, problems } = await openPage(browser, bench.dashboard, { colorScheme: 'dark' }));
    // The app lands on #/overview first; go on once it has.
    await page.waitForSelector('main h1', { timeout: 30_000 });
    await page.evaluate(`window.location.hash = '#/experiments'`);
    await page.getByTestId('xp-list').waitFor({ timeout: 30_000 });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await bench?.stop();
  }, 120_000);

  it('lists the built-ins and opens one as YAML', async () => {
    await page.locator('[data-testid="xp-list"] [data-name="kill-timeline"]').click();
    await eventually(
      async () => (await page.getByTestId('xp-editor').inputValue()).includes('title: Kill timeline'),
      'the kill-timeline YAML in the editor',
    );
    await expect(page.getByTestId('xp-problems').getAttribute('data-count')).resolves.toBe('0');
  });

  it('shows a broken definition’s problems at their lines, and saves it once fixed', async () => {
    await page.getByTestId('xp-new').click();
    await page.getByTestId('xp-editor').fill(QUICK.replace('ms: 1500', 'ms: -1'));
    const problem = await eventually(async () => {
      const text = (await page.getByTestId('xp-problems').textContent()) ?? '';
      return text.includes('line 12') ? text : null;
    }, 'the problem at line 12');
    expect(problem).toMatch(/method\[1\]\.ms/);
    await expect(page.getByTestId('xp-run').isDisabled()).resolves.toBe(true);
    await screenshot(page, 'ui-experiments-problem-dark');
    await page.getByTestId('xp-editor').fill(QUICK);
    await eventually(
      async () => (await page.getByTestId('xp-problems').getAttribute('data-count')) === '0',
      'no problem left',
    );
    await page.getByTestId('xp-save-name').fill('quick-latency');
    await page.getByTestId('xp-save').click();
    await page.locator('[data-testid="xp-list"] [data-name="quick-latency"]').waitFor({ timeout: 15_000 });
  });

  it('runs it live: steps and the fault as they happen, then the verdict banner and a history entry', async () => {
    await page.getByTestId('xp-run').click();
    await page.getByTestId('xp-running').or(page.getByTestId('xp-verdict')).waitFor({
      timeout: 30_000,
    });
    const verdict = await eventually(
      async () => page.getByTestId('xp-verdict').getAttribute('data-verdict', { timeout: 1_000 }),
      'the verdict',
      180_000,
    );
    expect(verdict).toBe('passed');
    const steps = (await page.getByTestId('xp-steps').textContent()) ?? '';
    expect(steps).toContain('timeline still answers');
    expect(steps).toMatch(/latency 100/);
    await page.locator('[data-testid="xp-history"] [data-run-id]').first().waitFor({ timeout: 15_000 });
    await screenshot(page, 'ui-experiments-passed-dark');
    const active = await bench.invoke('chaos.list', { limit: 10 });
    expect(active.active).toEqual([]);
  }, 240_000);

  it('opens a past run from the history, and its HTML report through the web server', async () => {
    await page.locator('[data-testid="xp-history"] [data-run-id]').first().click();
    const link = page.getByTestId('xp-report-link');
    await link.waitFor({ timeout: 15_000 });
    const [report] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await report.waitForLoadState('domcontentloaded');
    await expect(report.content()).resolves.toContain('Quick latency');
    await report.close();
    expect(problems).toEqual([]);
  });
});

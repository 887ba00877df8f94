/**
 * Schedules in the Chaos view, in real Chromium over web mode against a real process cluster: a
 * fault set up in the catalog is scheduled, run once now (its fault lands in the engine with the
 * schedule as origin), switched off, and removed; a schedule made outside the page (as the CLI
 * would) shows up and goes live through the events; a fault without an end is refused under the
 * form. No console error besides the refused request's own line, no CSP violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launch, openPage, screenshot } from './support/browser.ts';
import { eventually, startBench, type Bench } from './support/lab.ts';

const missing = browserMissing();
if (missing) console.warn(`[browser tier] SKIPPED: ${missing}`);

/** Clear of the other browser files' gateways (18180 … 18780). */
const GATEWAY_PORT = 18_880;

describe.skipIf(missing !== null)('schedules in the Chaos view', () => {
  let bench: Bench;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const row = (name: string) => page.locator(`[data-testid="schedules"] tr[data-schedule="${name}"]`);

  beforeAll(async () => {
    bench = await startBench({ gatewayPort: GATEWAY_PORT });
    await bench.invoke('cluster.up', { runtime: 'process' });
    browser = await launch();
    ({ page, problems } = await openPage(browser, bench.dashboard, { colorScheme: 'dark' }));
    await page.waitForSelector('main h1', { timeout: 30_000 });
    await page.evaluate(`window.location.hash = '#/chaos?service=users'`);
    await page.getByTestId('schedules-panel').waitFor({ timeout: 30_000 });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await bench?.stop();
  }, 120_000);

  it('says what to do while there is none', async () => {
    const empty = page.getByTestId('schedules-empty');
    await empty.waitFor({ timeout: 15_000 });
    expect(await empty.textContent()).toMatch(/Schedule…/);
    // Nothing handed over yet: the form says where the fault comes from and cannot create.
    expect(await page.getByTestId('schedule-draft').textContent()).toMatch(/fault catalog/);
    await expect(page.getByTestId('schedule-create').isDisabled()).resolves.toBe(true);
  });

  it('refuses a fault without an end under the form', async () => {
    await page.getByTestId('fault-latency').fill('120');
    await page.getByLabel('Duration (s)').first().fill('');
    await page.getByTestId('fault-schedule').click();
    await page.getByTestId('schedule-name').fill('endless');
    await page.getByTestId('schedule-create').click();
    const error = page.getByTestId('schedule-create-error');
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toMatch(/durationMs/);
    expect((await bench.invoke('schedules.list')).schedules).toEqual([]);
  });

  it('schedules the catalog’s fault, runs it now, switches it off and removes it', async () => {
    await page.getByLabel('Duration (s)').first().fill('20');
    await page.getByTestId('fault-schedule').click();
    await expect(page.getByTestId('schedule-draft').textContent()).resolves.toMatch(
      /latency 120±50 ms in users for 20 s/,
    );
    await page.getByTestId('schedule-name').fill('slow users');
    // An hour: the timer never fires during the test; "Run now" does.
    await page.getByTestId('schedule-every').fill('3600');
    await page.getByTestId('schedule-create').click();
    const slow = row('slow users');
    await slow.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('schedule-create-error').count()).toBe(0);
    expect(await slow.getByTestId('schedule-next').textContent()).toMatch(/in (59 min|1 h 0 min)/);
    const [created] = (await bench.invoke('schedules.list')).schedules;
    expect(created).toMatchObject({ name: 'slow users', everyMs: 3_600_000, enabled: true });

    await slow.getByTestId('schedule-run').click();
    await eventually(async () => (await slow.getAttribute('data-runs')) === '1', 'one run');
    expect(await slow.getByTestId('schedule-result').textContent()).toMatch(/latency 120.*: active/);
    const active = (await bench.invoke('chaos.list')).active;
    expect(active.filter((r) => r.origin === `schedule:${created!.id}`)).toHaveLength(1);
    await screenshot(page, 'ui-schedules-dark');

    await slow.getByTestId('schedule-enabled').uncheck();
    await eventually(async () => (await slow.getAttribute('data-enabled')) === 'false', 'switched off');
    expect(await slow.getByTestId('schedule-next').textContent()).toBe('off');
    expect((await bench.invoke('schedules.list')).schedules[0]?.enabled).toBe(false);

    await slow.getByTestId('schedule-remove').click();
    await eventually(async () => (await slow.count()) === 0, 'the row gone');
    await page.getByTestId('schedules-empty').waitFor();
    expect((await bench.invoke('schedules.list')).schedules).toEqual([]);
    await bench.invoke('chaos.reset');
  });

  it('follows schedules made and removed elsewhere, live', async () => {
    const made = await bench.invoke('schedules.create', {
      name: 'from the cli',
      everyMs: 1_000,
      blastRadius: { maxActiveFaults: 1, maxInstancePercent: 100 },
      what: {
        kind: 'fault',
        fault: {
          type: 'request',
          target: { service: 'users' },
          fault: { kind: 'latency', latencyMs: 20 },
          durationMs: 2_500,
        },
      },
    });
    const cli = row('from the cli');
    await cli.waitFor({ timeout: 15_000 });
    // Its timer runs it every second, one fault at a time: runs and skips count up on the page.
    await eventually(async () => {
      const text = (await cli.getByTestId('schedule-result').textContent()) ?? '';
      const m = /(\d+) runs? · (\d+) skipped/.exec(text);
      return m !== null && Number(m[1]) >= 2 && Number(m[2]) >= 1;
    }, 'runs and skips counted live');
    await bench.invoke('schedules.remove', { id: made.id });
    await eventually(async () => (await cli.count()) === 0, 'gone from the page');
    await bench.invoke('chaos.reset');
    // The refused creation's request line is the only console error allowed.
    expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([]);
  });
});

/**
 * The Metrics view in real Chromium over web mode, with the tweet cluster under load: RED charts
 * of a service and of one route with p50/p90/p99, and markers for a fault, a breaker transition
 * and a container event caused while the view is open.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openDashboard, screenshot, type Browsing } from './support/browser.ts';
import { buildDashboard, eventually, startLab, tempDir, type Lab } from './support/lab.ts';

let lab: Lab;
let web: Browsing;
let page: Page;
let dist: string;

beforeAll(async () => {
  dist = tempDir('chaoscope-ui2-dist-');
  await buildDashboard(dist);
  lab = await startLab(dist);
  await eventually(
    async () => {
      const red = await lab.invoke('telemetry.red', {
        service: 'gateway',
        from: Date.now() - 300_000,
        stepMs: 5_000,
      });
      return red.series[0]!.points.reduce((n, p) => n + p.requests, 0) >= 20;
    },
    'gateway requests in the store',
    120_000,
  );
  web = await openDashboard(lab);
  page = web.page;
}, 300_000);

afterAll(async () => {
  await lab?.invoke('faults.reset', {}).catch(() => undefined);
  await web?.close();
  await lab?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
}, 120_000);

const markerCount = async (kind: string) =>
  Number((await page.locator(`[data-testid="marker-kind-${kind}"] .n`).textContent()) ?? 'NaN');

describe('Metrics', () => {
  it('charts RED of a service with percentiles, and of one route from the route table', async () => {
    await page.goto(`${lab.plane.url}/#/metrics?service=gateway&range=5m`);
    await page.waitForSelector('[data-testid="red-charts"] canvas', { timeout: 30_000 });
    expect(await page.locator('[data-testid="red-charts"] .uplot').count()).toBe(3);
    await expect
      .poll(() => page.locator('[data-testid="metrics-totals"]').textContent())
      .toMatch(/^[1-9][\d,]* requests/);
    // The latency chart's legend names the three percentiles.
    const legend = await page.locator('[data-testid="red-charts"] .u-legend').allTextContents();
    expect(legend.join(' ')).toMatch(/p50[\s\S]*p90[\s\S]*p99/);

    const routes = page.locator('[data-testid="route-table"] tbody tr');
    await expect.poll(() => routes.count()).toBeGreaterThan(1);
    const route = (await routes.first().locator('td').first().textContent())!.trim();
    await routes.first().click();
    await page.waitForURL(/route=/);
    await expect.poll(() => page.locator('.panel h2').first().textContent()).toContain(route);
    await page.waitForSelector('[data-testid="red-charts"] .uplot');
  });

  it('marks faults, breaker transitions and container events on the charts', async () => {
    await page.goto(`${lab.plane.url}/#/metrics?service=gateway&range=5m`);
    await page.waitForSelector('[data-testid="red-charts"] canvas');
    const before = {
      fault: await markerCount('fault'),
      breaker: await markerCount('breaker'),
      container: await markerCount('container'),
    };

    await lab.invoke('faults.inject', {
      service: 'timeline',
      faults: [{ kind: 'latency', latencyMs: 250, jitterMs: 50, durationMs: 60_000 }],
    });
    await lab.invoke('breakers.act', { breaker: 'gateway:timeline', action: 'open' });
    await lab.invoke('service.restart', { service: 'realtime' });

    await expect.poll(() => markerCount('fault'), { timeout: 30_000 }).toBeGreaterThan(before.fault);
    await expect.poll(() => markerCount('breaker'), { timeout: 30_000 }).toBeGreaterThan(before.breaker);
    await expect.poll(() => markerCount('container'), { timeout: 60_000 }).toBeGreaterThan(before.container);
    await lab.invoke('breakers.act', { breaker: 'gateway:timeline', action: 'reset' });
    // Let a few more seconds of data in after the chaos, then look.
    await page.waitForTimeout(6_000);
    await screenshot(page, 'metrics-markers-dark');

    // A marker kind can be hidden and shown again.
    await page.locator('[data-testid="marker-kind-container"]').click();
    expect(await page.locator('[data-testid="marker-kind-container"]').getAttribute('aria-pressed')).toBe(
      'false',
    );
    await page.locator('[data-testid="marker-kind-container"]').click();

    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('light');
    await screenshot(page, 'metrics-markers-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(web.errors.filter((e) => /#\/metrics/.test(e))).toEqual([]);
  });
});

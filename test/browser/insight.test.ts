/**
 * The trace view loads a trace as an outline and each span's details when it is opened, and the
 * Registry view shows the registry's instances with live heartbeat ages, deregisters, and says
 * where scaling is not possible — real control plane, real process cluster, real Chromium.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openDashboard, screenshot, type Browsing } from './support/browser.ts';
import { buildDashboard, eventually, startLab, tempDir, type Lab } from './support/lab.ts';

/** Clear of the other browser files' gateways (18180, 18280). */
const GATEWAY_PORT = 18_780;

let lab: Lab;
let web: Browsing;
let page: Page;
let dist: string;
/** Commands the page invoked, in order. */
const invoked: string[] = [];

beforeAll(async () => {
  dist = tempDir('chaoscope-insight-dist-');
  await buildDashboard(dist);
  lab = await startLab(dist, { gatewayPort: GATEWAY_PORT });
  await eventually(
    async () => {
      const found = await lab.invoke('traces.search', { service: 'gateway', limit: 50 });
      return found.traces.some((t) => t.services.length >= 3);
    },
    'gateway traces through three services',
    120_000,
  );
  web = await openDashboard(lab);
  page = web.page;
  page.on('request', (r) => {
    const m = /\/api\/v1\/invoke\/([\w.]+)/.exec(r.url());
    if (m) invoked.push(m[1]!);
  });
}, 300_000);

afterAll(async () => {
  await web?.close();
  await lab?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
}, 120_000);

describe('trace view', () => {
  it('opens from the outline and loads a span’s details when it is opened', async () => {
    const found = await lab.invoke('traces.search', { service: 'gateway', limit: 50 });
    const best = [...found.traces].sort((a, b) => b.spanCount - a.spanCount)[0]!;
    invoked.length = 0;
    await page.goto(`${lab.origin}/#/traces/${best.traceId}`);
    await page.waitForSelector('[data-testid="waterfall"] [role="treeitem"]', { timeout: 30_000 });
    expect(Number(await page.locator('[data-testid="waterfall"]').getAttribute('data-rows'))).toBe(
      best.spanCount,
    );
    expect(invoked).toContain('traces.outline');
    expect(invoked).not.toContain('traces.get');
    expect(invoked).not.toContain('traces.span');

    const rows = page.locator('[data-testid="waterfall"] [role="treeitem"]');
    const second = rows.nth(1);
    const spanId = (await second.getAttribute('data-span-id'))!;
    await second.dblclick();
    const details = page.locator('[data-testid="span-details"]');
    await details.waitFor();
    const stored = await lab.invoke('traces.span', { traceId: best.traceId, spanId });
    await expect
      .poll(() => details.locator('[data-testid="span-attributes"] tr').count(), { timeout: 15_000 })
      .toBe(Object.keys(stored.attributes).length);
    expect(invoked.filter((c) => c === 'traces.span')).toHaveLength(1);
    const [key] = Object.keys(stored.attributes);
    expect(await details.textContent()).toContain(key);

    // Opening it again uses what was loaded; another span asks once more.
    await page.keyboard.press('Escape');
    await second.dblclick();
    await details.locator('[data-testid="span-attributes"] tr').first().waitFor();
    expect(invoked.filter((c) => c === 'traces.span')).toHaveLength(1);
    await rows.nth(0).dblclick();
    await expect.poll(() => invoked.filter((c) => c === 'traces.span').length).toBe(2);
    await page.keyboard.press('Escape');
    expect(web.errors).toEqual([]);
  });
});

describe('Registry view', () => {
  it('shows registered instances with live heartbeat ages, deregisters, and says why scaling fails here', async () => {
    await page.goto(`${lab.origin}/#/registry`);
    const row = page.locator('[data-testid="registry-service-timeline"] [data-instance="timeline-1"]');
    await row.waitFor({ timeout: 30_000 });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('alive');
    const users = page.locator('[data-testid="registry-service-users"]');
    await users.waitFor();
    expect(await page.locator('[data-testid="registry-summary"]').textContent()).toMatch(
      /registered instances/,
    );

    // The age ticks between polls and drops again at each heartbeat.
    const age = row.locator('[data-testid="heartbeat-age"]');
    const seen = new Set<string>();
    await eventually(async () => {
      seen.add((await age.textContent())!.trim());
      return seen.size >= 3;
    }, 'the heartbeat age changing');
    await screenshot(page, 'registry-dark');

    // Deregister users-1: it goes, and comes back at its next heartbeat with a new registration.
    const usersRow = users.locator('[data-instance="users-1"]');
    const before = (await lab.invoke('registry.list')).services
      .find((s) => s.service === 'users')!
      .instances.find((i) => i.instanceId === 'users-1')!;
    await usersRow.locator('[data-testid="deregister"]').click();
    await eventually(async () => {
      const i = (await lab.invoke('registry.list')).services
        .find((s) => s.service === 'users')
        ?.instances.find((x) => x.instanceId === 'users-1');
      return i && i.registeredAt !== before.registeredAt && i.status === 'alive';
    }, 'users-1 registered again');
    await expect.poll(() => usersRow.getAttribute('data-status'), { timeout: 15_000 }).toBe('alive');

    // Scale: the process runtime cannot, and says so on the service it concerns.
    await page.locator('[data-testid="scale-input-timeline"]').fill('2');
    await page.locator('[data-testid="scale-timeline"]').click();
    const scaleError = page.locator('[data-testid="scale-error-timeline"]');
    await scaleError.waitFor({ timeout: 30_000 });
    expect(await scaleError.textContent()).toMatch(/container runtime|process/);
    await screenshot(page, 'registry-scale-refused-dark');
    // A refused command is shown where it happened; the only console errors allowed are the
    // failed request lines Chromium logs for that refusal.
    expect(web.errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
  });
});

/**
 * The Traces views in real Chromium over web mode, against a real control plane and the tweet
 * cluster with load: search real traces (form, URL, scatter, table), open one, fold it by subtree
 * and by service, search in it, open span details, see the critical path, compare two traces,
 * export one as OTLP JSON. Screenshots go to test-results/screenshots/.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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
  // Load runs: wait until the store holds traces that cross several services.
  await eventually(
    async () => {
      const found = await lab.invoke('traces.search', { service: 'gateway', limit: 50 });
      return found.traces.filter((t) => t.services.length >= 3).length >= 4;
    },
    'gateway traces through three services',
    120_000,
  );
  web = await openDashboard(lab);
  page = web.page;
}, 300_000);

afterAll(async () => {
  await web?.close();
  await lab?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
}, 120_000);

/** Visible waterfall rows (the virtualized list renders only what is near the screen). */
const rowCount = async () =>
  Number((await page.locator('[data-testid="waterfall"]').getAttribute('data-rows')) ?? 'NaN');

describe('Traces', () => {
  it('searches real traces from the URL and shows them in the scatter plot and the table', async () => {
    await page.goto(`${lab.plane.url}/#/traces?service=gateway&range=15m&limit=50`);
    await page.waitForSelector('[data-testid="trace-row"]', { timeout: 30_000 });
    // The form mirrors the URL.
    expect(await page.locator('[data-testid="f-service"]').inputValue()).toBe('gateway');
    expect(await page.locator('[data-testid="f-limit"]').inputValue()).toBe('50');
    const rows = await page.locator('[data-testid="trace-row"]').count();
    expect(rows).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="scatter"] canvas').count()).toBeGreaterThan(0);

    // Submitting the form writes the search into the URL.
    await page.locator('[data-testid="f-sort"]').selectOption('longest');
    await page.locator('[data-testid="search"]').click();
    await page.waitForURL(/sort=longest/);
    await page.waitForSelector('[data-testid="trace-row"]');
    await screenshot(page, 'traces-search-dark');

    // A filter that matches nothing says so.
    await page.goto(`${lab.plane.url}/#/traces?service=gateway&operation=no-such-operation`);
    await page.waitForSelector('[data-testid="no-results"]', { timeout: 20_000 });
  });

  it('opens a trace from a dot of the scatter plot, by mouse and by keyboard', async () => {
    await page.goto(`${lab.plane.url}/#/traces?service=gateway&limit=5`);
    await page.waitForSelector('[data-testid="trace-row"]');
    const ids = await Promise.all(
      (await page.locator('[data-testid="trace-row"]').all()).map((r) => r.getAttribute('data-trace-id')),
    );
    // The keyboard path: focus the plot, step to the earliest trace, see it ringed and described.
    await page.locator('[data-testid="scatter"]').focus();
    await page.keyboard.press('Home');
    const ring = page.locator('[data-testid="scatter-focus"]');
    await ring.waitFor();
    await expect
      .poll(() => page.locator('[data-testid="scatter"] [role="tooltip"]').textContent())
      .toContain('gateway');
    // The mouse path: click the dot where it is drawn.
    const box = (await ring.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForURL(/#\/traces\/[0-9a-f]{32}$/);
    const opened = page.url().split('/').at(-1)!;
    expect(ids).toContain(opened);
    // And Enter on a focused dot opens its trace too.
    await page.goBack();
    await page.waitForSelector('[data-testid="trace-row"]');
    await page.locator('[data-testid="scatter"]').focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/traces\/[0-9a-f]{32}$/);
  });

  it('shows a trace: folds by subtree and by service, searches in it, opens span details, marks the critical path', async () => {
    const found = await lab.invoke('traces.search', { service: 'gateway', limit: 50, sort: 'newest' });
    const best = [...found.traces].sort((a, b) => b.spanCount - a.spanCount)[0]!;
    await page.goto(`${lab.plane.url}/#/traces/${best.traceId}`);
    await page.waitForSelector('[data-testid="waterfall"] [role="treeitem"]', { timeout: 30_000 });
    expect(await rowCount()).toBe(best.spanCount);
    await eventually(
      async () => (await page.locator('[data-testid="waterfall"] .crit').count()) > 0,
      'critical path drawn',
      15_000,
    );
    await screenshot(page, 'trace-view-dark');

    // Collapse all: only the root row is left; its badge says how many are folded.
    await page.locator('[data-testid="collapse-all"]').click();
    expect(await rowCount()).toBeLessThan(best.spanCount);
    await page.locator('[data-testid="expand-all"]').click();
    expect(await rowCount()).toBe(best.spanCount);

    // Fold one subtree with its toggle, and open it again from the keyboard.
    const toggle = page.locator('[data-testid="waterfall"] [role="treeitem"] button.fold').first();
    await toggle.click();
    const folded = await rowCount();
    expect(folded).toBeLessThan(best.spanCount);
    await page.locator('[data-testid="waterfall"] [role="treeitem"]').first().click();
    await page.keyboard.press('ArrowRight');
    expect(await rowCount()).toBe(best.spanCount);

    // Fold by service: every call into a service that has children becomes one row.
    const services = await page.locator('[data-testid^="fold-service-"]').allTextContents();
    expect(services.length).toBeGreaterThanOrEqual(3);
    let shrank = false;
    for (const s of best.services) {
      const button = page.locator(`[data-testid="fold-service-${s}"]`);
      await button.click();
      if ((await rowCount()) < best.spanCount) shrank = true;
      await button.click();
      if (shrank) break;
    }
    expect(shrank).toBe(true);
    expect(await rowCount()).toBe(best.spanCount);

    // Search in the trace: matches are counted and the first is highlighted.
    const other = best.services.find((s) => s !== 'gateway')!;
    const search = page.locator('[data-testid="trace-search"]');
    await search.fill(other);
    await expect.poll(() => page.locator('[data-testid="match-count"]').textContent()).toMatch(/^1 \/ \d+$/);
    await page.locator('[data-testid="finding"]').waitFor({ state: 'detached' });
    expect(await page.locator('[data-testid="waterfall"] .wf-row.current').count()).toBe(1);
    await page.locator('[data-testid="trace-search"]').press('Enter');
    await expect
      .poll(() => page.locator('[data-testid="match-count"]').textContent())
      .toMatch(/^2 \/ \d+$|^1 \/ 1$/);

    // Span details: attributes, resource, events, loaded for the span opened.
    const current = page.locator('[data-testid="waterfall"] .wf-row.current');
    const spanId = (await current.getAttribute('data-span-id'))!;
    await current.dblclick();
    const details = page.locator('[data-testid="span-details"]');
    await details.waitFor();
    const stored = (await lab.invoke('traces.get', { traceId: best.traceId })).spans.find(
      (x) => x.spanId === spanId,
    )!;
    await expect.poll(() => details.textContent()).toContain(spanId);
    await expect
      .poll(() => details.locator('[data-testid="span-attributes"] tr').count())
      .toBe(Object.keys(stored.attributes).length);
    expect(await details.textContent()).toContain(stored.service);
    await screenshot(page, 'trace-details-dark');
    await page.keyboard.press('Escape');

    // Search by attribute value, on the server (traces.find): `key=value`, and a value alone.
    const whole = (await lab.invoke('traces.get', { traceId: best.traceId })).spans;
    const withMethod = whole.filter((x) => x.attributes['http.request.method'] === 'GET');
    expect(withMethod.length).toBeGreaterThan(0);
    await search.fill('http.request.method=GET');
    await expect
      .poll(() => page.locator('[data-testid="match-count"]').textContent())
      .toBe(`1 / ${withMethod.length}`);
    await expect
      .poll(() => page.locator('[data-testid="match-fields"]').textContent())
      .toContain('attributes.http.request.method');
    expect(await page.locator('[data-testid="waterfall"] .wf-row.current').count()).toBe(1);
    // Next and previous go round the matches.
    await page.getByRole('button', { name: 'Next match' }).click();
    await expect.poll(() => page.locator('[data-testid="match-count"]').textContent()).toMatch(/^(2|1) \/ /);
    await page.getByRole('button', { name: 'Previous match' }).click();
    await expect.poll(() => page.locator('[data-testid="match-count"]').textContent()).toMatch(/^1 \/ /);
    const route = whole.map((x) => x.attributes['http.route']).find((r) => typeof r === 'string') as string;
    await search.fill(route);
    await page.locator('[data-testid="finding"]').waitFor({ state: 'detached' });
    const withRoute = whole.filter((x) =>
      [...Object.values(x.attributes), x.name, x.service].some(
        (v) => typeof v === 'string' && v.toLowerCase().includes(route.toLowerCase()),
      ),
    );
    await expect
      .poll(() => page.locator('[data-testid="match-count"]').textContent())
      .toMatch(new RegExp(`^1 / ${withRoute.length}$`));
    await screenshot(page, 'trace-search-attributes-dark');
    await search.fill('');
  });

  it('compares two traces of the same operation by structure and duration', async () => {
    // From the table: pick two traces of one operation, press Compare.
    await page.goto(`${lab.plane.url}/#/traces?service=gateway&limit=100`);
    await page.waitForSelector('[data-testid="trace-row"]');
    const listed = await Promise.all(
      (await page.locator('[data-testid="trace-row"]').all()).map(
        async (r) =>
          [(await r.getAttribute('data-root')) ?? '', (await r.getAttribute('data-trace-id')) ?? ''] as const,
      ),
    );
    const byOp = new Map<string, string[]>();
    for (const [root, id] of listed) byOp.set(root, [...(byOp.get(root) ?? []), id]);
    const pair = [...byOp.values()].find((ids) => ids.length >= 2)!;
    expect(pair).toBeDefined();
    for (const id of pair.slice(0, 2)) {
      await page.locator(`[data-trace-id="${id}"] input[type="checkbox"]`).check();
    }
    await page.locator('[data-testid="compare-picked"]').click();
    await page.waitForURL(new RegExp(`#/traces/${pair[0]}/compare/${pair[1]}$`));
    await page.waitForSelector('[data-testid="compare-delta"]');
    const expected = await lab.invoke('traces.compare', { a: pair[0]!, b: pair[1]! });
    expect(await page.locator('[data-testid="compare-rows"] [data-kind="matched"]').count()).toBeGreaterThan(
      0,
    );
    expect(await page.locator('[data-testid="compare-delta"]').textContent()).toContain(
      `${expected.matched.length} matched`,
    );
    await screenshot(page, 'trace-compare-dark');
  });

  it('exports a trace as OTLP JSON that holds every span', async () => {
    // A trace that began seconds ago: its services have exported all of it (the newest may still
    // be arriving, span batch by span batch, while traffic flows).
    const t = await eventually(
      async () =>
        (await lab.invoke('traces.search', { service: 'gateway', limit: 5, to: Date.now() - 5_000 }))
          .traces[0],
      'a gateway trace at least 5 s old',
      30_000,
    );
    await page.goto(`${lab.plane.url}/#/traces/${t.traceId}`);
    await page.waitForSelector('[data-testid="export"]');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="export"]').click(),
    ]);
    expect(download.suggestedFilename()).toBe(`trace-${t.traceId}.otlp.json`);
    const path = join(tempDir('chaoscope-ui2-dl-'), 'trace.json');
    await download.saveAs(path);
    const otlp = JSON.parse(readFileSync(path, 'utf8')) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[];
    };
    const spans = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans.length).toBe(t.spanCount);
    expect(new Set(spans.map((s) => s.traceId.toLowerCase()))).toEqual(new Set([t.traceId]));
  });

  it('shows the views in the light theme too, with no console error', async () => {
    // The theme follows the OS until the user picks one.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${lab.plane.url}/#/traces?service=gateway`);
    await page.waitForSelector('[data-testid="trace-row"]');
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
    await screenshot(page, 'traces-search-light');
    const id = await page.locator('[data-testid="trace-row"]').first().getAttribute('data-trace-id');
    await page.goto(`${lab.plane.url}/#/traces/${id}`);
    await page.waitForSelector('[data-testid="waterfall"] [role="treeitem"]');
    await screenshot(page, 'trace-view-light');
    expect(web.errors.filter((e) => /#\/traces/.test(e))).toEqual([]);
  });
});

/**
 * Real Chromium for the browser tier: Debian's /usr/bin/chromium driven by playwright-core (no
 * browser download). Every page records console errors and failed requests, so a test can insist
 * on a clean console.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHAOSCOPE_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', '..', 'test-results', 'screenshots');
/** The pictures the README and the docs show, committed: one per view and theme. */
export const DOCS_SCREENSHOTS = join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');
/** The size of the docs' pictures (small enough to commit, wide enough for every view's layout). */
export const DOCS_VIEWPORT = { width: 1280, height: 800 } as const;

/** Why the tier cannot run here, or null when it can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHAOSCOPE_CHROMIUM)`;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
}

export async function openPage(
  browser: Browser,
  url: string,
  options: { colorScheme?: 'dark' | 'light'; width?: number; height?: number } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? 'dark',
    reducedMotion: 'no-preference',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // A CSP violation's console line does not say where it came from; the event does.
  await page.exposeFunction('__reportCsp', (text: string) => problems.push(`csp: ${text}`));
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    window.__reportCsp([e.violatedDirective, e.blockedURI, e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber, e.sample].join(' | ')));`);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** `docs/screenshots/<view>-<theme>.png`, the viewport only (stable names: a new run replaces them). */
export async function docsScreenshot(page: Page, view: string, theme: 'dark' | 'light'): Promise<string> {
  await mkdir(DOCS_SCREENSHOTS, { recursive: true });
  const path = join(DOCS_SCREENSHOTS, `${view}-${theme}.png`);
  await page.screenshot({ path, fullPage: false, animations: 'disabled', caret: 'hide' });
  return path;
}

export interface Browsing {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far, each with the view that was on screen. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** A browser of its own on the lab's dashboard (downloads allowed), once the app has mounted. */
export async function openDashboard(
  lab: { readonly dashboard: string },
  options: { theme?: 'dark' | 'light' } = {},
): Promise<Browsing> {
  const browser = await launch();
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    colorScheme: options.theme ?? 'dark',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (at ${m.location().url}, page ${page.url()})`);
  });
  page.on('pageerror', (e) => errors.push(`${String(e)} (page ${page.url()})`));
  await page.goto(lab.dashboard);
  await page.waitForSelector('#app *', { timeout: 30_000 });
  return { browser, context, page, errors, close: () => browser.close() };
}

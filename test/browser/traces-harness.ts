/**
 * What the Traces and Metrics browser tests share: the dashboard built into a throwaway folder,
 * a real control plane in web mode over a throwaway CHAOSCOPE_HOME, the tweet cluster as local
 * processes with load, and real Chromium (Debian's) driven by playwright-core.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { CommandInput, CommandName, CommandOutput } from '../../electron/api/commands.ts';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Build the renderer with Vite into `outDir` (a folder of its own: other builds may run meanwhile). */
export async function buildDashboard(outDir: string): Promise<void> {
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        vite,
        'build',
        '--config',
        join(ROOT, 'renderer', 'vite.config.ts'),
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'error',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}

export interface Lab {
  readonly home: string;
  readonly plane: ControlPlane;
  /** The dashboard's URL with its token (first load sets the cookie). */
  readonly dashboard: string;
  invoke<K extends CommandName>(name: K, input?: CommandInput<K>): Promise<CommandOutput<K>>;
  stop(): Promise<void>;
}

/** A control plane in web mode serving `distDir`, and (unless `cluster: false`) a cluster with load. */
export async function startLab(distDir: string, options: { cluster?: boolean } = {}): Promise<Lab> {
  const home = mkdtempSync(join(tmpdir(), 'chaoscope-ui2-'));
  const plane = await startControlPlane({
    home,
    env: { ...process.env, CHAOSCOPE_HOME: home, XDG_DATA_HOME: home },
    webPort: 0,
    distDir,
    mode: 'serve',
  });
  const invoke = async <K extends CommandName>(
    name: K,
    input?: CommandInput<K>,
  ): Promise<CommandOutput<K>> => {
    const answer = await plane.invoke(name, input ?? {});
    if (!answer.ok) throw new Error(`${name}: ${answer.error.code} ${answer.error.message}`);
    return answer.value as CommandOutput<K>;
  };
  const stop = async () => {
    await plane.close({ stopCluster: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    if (options.cluster !== false) {
      await invoke('cluster.up', { runtime: 'process', loadgen: true, gatewayPort: 18180 });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { home, plane, dashboard: `${plane.url}/?token=${plane.token}`, invoke, stop };
}

export interface Browsing {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openDashboard(lab: Lab, options: { theme?: 'dark' | 'light' } = {}): Promise<Browsing> {
  const browser = await chromium.launch({
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
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    colorScheme: options.theme ?? 'dark',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  // Each error says which view was on screen, so a test can hold its own views to account.
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (at ${m.location().url}, page ${page.url()})`);
  });
  page.on('pageerror', (e) => errors.push(`${String(e)} (page ${page.url()})`));
  await page.goto(lab.dashboard);
  await page.waitForSelector('#app *', { timeout: 30_000 });
  return { browser, context, page, errors, close: () => browser.close() };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Poll until `check` gives a value (not undefined/null/false), or fail after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out waiting for ${what}${reason}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

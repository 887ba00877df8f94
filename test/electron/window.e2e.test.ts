/**
 * The real desktop window, end to end: the bundled shell in a real Electron, driven by
 * playwright-core's `_electron`, with the real control plane inside. It runs wherever an Electron
 * binary is installed (and, on Linux, a display exists); elsewhere every test is reported as
 * skipped with the reason. CHAOSCOPE_REQUIRE_ELECTRON=1 turns that skip into a failure.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildElectron } from '../../scripts/build-electron.ts';
import { ROOT, findElectronBinary, hasDisplay } from '../../scripts/start.ts';

function electronHere(): { ok: true; binary: string } | { ok: false; reason: string } {
  const binary = findElectronBinary(ROOT, process.env);
  if (!binary.found) return { ok: false, reason: binary.reason };
  const display = hasDisplay(process.platform, process.env);
  if (!display.ok) return { ok: false, reason: display.reason };
  return { ok: true, binary: binary.path };
}

const here = electronHere();
const skipReason = here.ok ? '' : `no Electron window can open here: ${here.reason}`;
const required = process.env.CHAOSCOPE_REQUIRE_ELECTRON === '1';

interface Answer {
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}
/** What the page's global scope has, typed here (this project's Node tsconfig has no DOM lib). */
interface PageGlobals {
  chaoscope?: { invoke(name: string, input: unknown): Promise<Answer> };
  require?: unknown;
  process?: unknown;
  location: { href: string };
  open(url: string): unknown;
  Notification: { requestPermission(): Promise<string> };
}

describe('the desktop window (real Electron)', () => {
  let app: ElectronApplication | null = null;
  let page: Page | null = null;
  let home = '';
  let userData = '';

  beforeAll(async () => {
    if (!here.ok) {
      if (required) throw new Error(`CHAOSCOPE_REQUIRE_ELECTRON=1 but ${skipReason}`);
      return;
    }
    home = await mkdtemp(join(tmpdir(), 'chaoscope-e2e-home-'));
    userData = await mkdtemp(join(tmpdir(), 'chaoscope-e2e-profile-'));
    const built = await buildElectron();
    app = await _electron.launch({
      executablePath: here.binary,
      // Chromium refuses to run as root with its OS sandbox; CI containers often are root.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), built.main],
      cwd: ROOT,
      env: {
        ...(process.env as Record<string, string>),
        CHAOSCOPE_HOME: home,
        CHAOSCOPE_USER_DATA: userData,
        ELECTRON_ENABLE_LOGGING: '1',
      },
      timeout: 120_000,
    });
    page = await app.firstWindow({ timeout: 120_000 });
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
    if (userData) await rm(userData, { recursive: true, force: true });
  });

  const ready = (ctx: { skip: (condition: boolean, note?: string) => void }): Page => {
    ctx.skip(!here.ok, skipReason);
    if (!page || !app) throw new Error('the window did not open');
    return page;
  };

  it('loads the app from app://chaoscope/, never from file://', (ctx) => {
    const window = ready(ctx);
    expect(window.url()).toBe('app://chaoscope/index.html');
  });

  it('runs the page with context isolation, sandbox and no Node integration', async (ctx) => {
    const window = ready(ctx);
    const prefs: unknown = await app!.evaluate((electron: unknown) => {
      type Windows = { getAllWindows(): Array<{ webContents: { getLastWebPreferences(): unknown } }> };
      return (
        electron as { BrowserWindow: Windows }
      ).BrowserWindow.getAllWindows()[0]?.webContents.getLastWebPreferences();
    });
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
    const globals = await window.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      return {
        require: typeof page.require,
        process: typeof page.process,
        bridge: Object.keys(page.chaoscope ?? {}).sort(),
      };
    });
    expect(globals).toEqual({
      require: 'undefined',
      process: 'undefined',
      bridge: ['apiVersion', 'invoke', 'subscribe', 'transport'],
    });
  });

  it('reaches the real control plane over IPC, and rejects a malformed payload clearly', async (ctx) => {
    const window = ready(ctx);
    const info = await window.evaluate(() =>
      (globalThis as unknown as PageGlobals).chaoscope!.invoke('system.info', {}),
    );
    expect(info).toMatchObject({ ok: true, value: { apiVersion: 1 } });
    const bad = await window.evaluate(() =>
      (globalThis as unknown as PageGlobals).chaoscope!.invoke('service.kill', { service: 42 }),
    );
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(bad.error?.message).toMatch(/^invalid input for service\.kill: /);
  });

  it('enforces the CSP: no remote fetch, no eval', async (ctx) => {
    const window = ready(ctx);
    const outcome = await window.evaluate(async () => {
      const results: string[] = [];
      try {
        await fetch('https://example.com/');
        results.push('fetch allowed');
      } catch {
        results.push('fetch blocked');
      }
      try {
        // eslint-disable-next-line @typescript-eslint/no-implied-eval
        const evaluated = new Function('return 1') as () => number;
        evaluated();
        results.push('eval allowed');
      } catch {
        results.push('eval blocked');
      }
      return results;
    });
    expect(outcome).toEqual(['fetch blocked', 'eval blocked']);
  });

  it('denies navigation away, new windows and permissions', async (ctx) => {
    const window = ready(ctx);
    await window.evaluate(() => {
      (globalThis as unknown as PageGlobals).location.href = 'https://example.com/';
    });
    const opened = await window.evaluate(
      () => (globalThis as unknown as PageGlobals).open('https://example.com/') === null,
    );
    expect(opened).toBe(true);
    const notification = await window.evaluate(() =>
      (globalThis as unknown as PageGlobals).Notification.requestPermission(),
    );
    expect(notification).toBe('denied');
    await vi.waitFor(() => expect(app!.windows()).toHaveLength(1), { timeout: 10_000 });
    expect(window.url()).toBe('app://chaoscope/index.html');
  });

  it('quits cleanly with no cluster running: no dialog, the control plane closed', async (ctx) => {
    ready(ctx);
    const stateFile = join(home, 'control', 'state.json');
    await vi.waitFor(() => expect(existsSync(stateFile)).toBe(true), { timeout: 60_000, interval: 250 });
    await app!.evaluate((electron: unknown) => (electron as { app: { quit(): void } }).app.quit());
    await vi.waitFor(() => expect(existsSync(stateFile)).toBe(false), { timeout: 60_000, interval: 250 });
    app = null;
  });
});

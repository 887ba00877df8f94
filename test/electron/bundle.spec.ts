/**
 * The built shell (electron/dist/main.mjs, exactly what `npm start` launches) run under plain Node
 * with a STAND-IN for the `electron` module (this machine has no Electron binary). Everything else
 * is real: the bundle and its import.meta.url rewriting, main.ts's composition, the control plane
 * it starts (telemetry store, collector, web mode, state file), the app protocol and IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildElectron } from '../../scripts/build-electron.ts';
import { ROOT } from '../../scripts/start.ts';

interface Report {
  kind: string;
  data: unknown;
}

describe('the bundled main process (stand-in electron, real control plane)', () => {
  let home = '';
  let userData = '';
  let child: ChildProcess | null = null;
  const reports: Report[] = [];
  let output = '';
  let exit: Promise<number | null> = Promise.resolve(null);

  const report = (kind: string) => reports.find((r) => r.kind === kind)?.data;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'chaoscope-bundle-home-'));
    userData = await mkdtemp(join(tmpdir(), 'chaoscope-bundle-profile-'));
    const built = await buildElectron();
    child = spawn(
      process.execPath,
      ['--import', join(ROOT, 'test', 'support', 'electron-stand-in-register.ts'), built.main],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CHAOSCOPE_HOME: home,
          CHAOSCOPE_USER_DATA: userData,
          CHAOSCOPE_STAND_IN_PROBE: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith('stand-in ')) reports.push(JSON.parse(line.slice(9)) as Report);
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exit = new Promise((resolve) => child?.on('exit', (code) => resolve(code)));
    // The control plane opens its store and collector first: slow on a busy machine.
    await vi.waitFor(
      () => {
        if (child?.exitCode !== null) throw new Error(`the bundle exited early:\n${output}`);
        expect(reports.map((r) => r.kind)).toContain('ready');
      },
      { timeout: 180_000, interval: 200 },
    );
  }, 240_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    await rm(home, { recursive: true, force: true });
    await rm(userData, { recursive: true, force: true });
  });

  it('opens the window on app://chaoscope/ with the secure preferences and the bundled preload', () => {
    expect(report('probe-failed')).toBeUndefined();
    expect(report('window')).toMatchObject({
      loaded: ['app://chaoscope/index.html'],
      options: {
        webPreferences: {
          preload: join(ROOT, 'electron', 'dist', 'preload.cjs'),
          contextIsolation: true,
          sandbox: true,
          nodeIntegration: false,
          webSecurity: true,
        },
      },
    });
    expect(existsSync(join(ROOT, 'electron', 'dist', 'preload.cjs'))).toBe(true);
  });

  it('serves renderer/dist (or the not-built page) with the CSP, and refuses traversal', () => {
    const page = report('page') as { status: number; csp: string };
    expect([200, 503]).toContain(page.status);
    expect(page.csp).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(report('traversal')).toEqual({ status: 403 });
  });

  it('answers the page from the real control plane over IPC, and rejects a malformed payload', () => {
    expect(report('system.info')).toMatchObject({ ok: true, value: { apiVersion: 1, home } });
    expect(report('malformed')).toMatchObject({
      ok: false,
      error: {
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/^invalid input for service\.kill: service/),
      },
    });
  });

  it('lets the CLI find it: a 0600 state file, web mode on loopback, mode "app"', async () => {
    const file = join(home, 'control', 'state.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const state = JSON.parse(await readFile(file, 'utf8')) as { mode: string; url: string; pid: number };
    expect(state.mode).toBe('app');
    expect(state.pid).toBe(child?.pid);
    expect(state.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('quits on SIGTERM without a dialog, closing the control plane (state file and lock removed)', async () => {
    child?.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(existsSync(join(home, 'control', 'state.json'))).toBe(false);
    expect(existsSync(join(home, 'control', 'lock'))).toBe(false);
  }, 120_000);
});

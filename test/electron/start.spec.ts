/**
 * `npm start`'s choice between the desktop app and web mode, with real files standing for an
 * installed or missing Electron binary (nothing is launched: `--dry-run` prints the plan), and the
 * browser opener with a real executable on PATH that records what it was asked to open.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ROOT,
  browserOpener,
  findElectronBinary,
  openBrowser,
  parseStartArgs,
  planLaunch,
  rendererNeedsBuild,
  type LaunchPlan,
} from '../../scripts/start.ts';

const run = promisify(execFile);
let base: string;

async function fakeRoot(
  name: string,
  electron: { pathTxt?: string; binary?: string; packageJson?: boolean },
) {
  const root = join(base, name);
  const dir = join(root, 'node_modules', 'electron');
  await mkdir(join(dir, 'dist'), { recursive: true });
  if (electron.packageJson !== false) await writeFile(join(dir, 'package.json'), '{"name":"electron"}');
  if (electron.pathTxt !== undefined) await writeFile(join(dir, 'path.txt'), electron.pathTxt);
  if (electron.binary !== undefined) {
    await writeFile(join(dir, 'dist', electron.binary), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, 'dist', electron.binary), 0o755);
  }
  return root;
}

async function executable(dir: string, name: string, body: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(dir, name), 0o755);
  return join(dir, name);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'chaoscope-start-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('finding the Electron binary without require("electron")', () => {
  it('is absent when the optional package is not installed', async () => {
    const root = join(base, 'no-package');
    await mkdir(root, { recursive: true });
    expect(findElectronBinary(root, {})).toEqual({
      found: false,
      reason: 'the optional electron package is not installed',
    });
  });

  it('is absent when the download never ran (no path.txt), as on this machine', async () => {
    const root = await fakeRoot('no-download', {});
    const result = findElectronBinary(root, {});
    expect(result.found).toBe(false);
    if (!result.found) expect(result.reason).toMatch(/path\.txt is missing/);
  });

  it('is absent when path.txt names a binary that is not there', async () => {
    const root = await fakeRoot('dangling', { pathTxt: 'electron' });
    const result = findElectronBinary(root, {});
    expect(result.found).toBe(false);
    if (!result.found) expect(result.reason).toMatch(/not an executable file/);
  });

  it('is found where path.txt names an executable in dist/', async () => {
    const root = await fakeRoot('installed', { pathTxt: 'electron\n', binary: 'electron' });
    expect(findElectronBinary(root, {})).toEqual({
      found: true,
      path: join(root, 'node_modules', 'electron', 'dist', 'electron'),
    });
  });

  it('follows ELECTRON_OVERRIDE_DIST_PATH as electron itself does', async () => {
    const root = await fakeRoot('override', {});
    const dist = join(base, 'override-dist');
    await executable(dist, 'electron', 'exit 0');
    expect(findElectronBinary(root, { ELECTRON_OVERRIDE_DIST_PATH: dist })).toEqual({
      found: true,
      path: join(dist, 'electron'),
    });
  });
});

describe('the launch plan', () => {
  it('starts the desktop app where the binary is installed and a display exists', async () => {
    const root = await fakeRoot('plan-desktop', { pathTxt: 'electron', binary: 'electron' });
    const plan = planLaunch({ root, env: { DISPLAY: ':0' }, platform: 'linux', force: null });
    expect(plan).toMatchObject({
      mode: 'desktop',
      electron: join(root, 'node_modules', 'electron', 'dist', 'electron'),
    });
    expect(planLaunch({ root, env: {}, platform: 'darwin', force: null }).mode).toBe('desktop');
  });

  it('starts web mode with the cluster and traffic where the binary is missing', async () => {
    const root = await fakeRoot('plan-web', {});
    const plan = planLaunch({ root, env: { DISPLAY: ':0' }, platform: 'linux', force: null });
    expect(plan).toMatchObject({
      mode: 'web',
      command: ['bin/chaoscope.js', 'up', '--runtime', 'auto', '--loadgen'],
    });
    expect(plan.reason).toMatch(/path\.txt is missing/);
  });

  it('starts web mode on a Linux box without a display even when the binary exists', async () => {
    const root = await fakeRoot('plan-headless', { pathTxt: 'electron', binary: 'electron' });
    const plan = planLaunch({ root, env: {}, platform: 'linux', force: null });
    expect(plan.mode).toBe('web');
    expect(plan.reason).toMatch(/no display/);
  });

  it('obeys --web, and fails --desktop with the reason when the app cannot run', async () => {
    const installed = await fakeRoot('plan-force', { pathTxt: 'electron', binary: 'electron' });
    expect(
      planLaunch({ root: installed, env: { DISPLAY: ':0' }, platform: 'linux', force: 'web' }).mode,
    ).toBe('web');
    const missing = await fakeRoot('plan-force-missing', {});
    expect(() =>
      planLaunch({ root: missing, env: { DISPLAY: ':0' }, platform: 'linux', force: 'desktop' }),
    ).toThrow(/cannot start the desktop app: .*path\.txt/);
  });

  it('parses its options and refuses unknown ones', () => {
    expect(parseStartArgs([])).toEqual({ force: null, open: true, build: true, dryRun: false });
    expect(parseStartArgs(['--web', '--no-open', '--no-build', '--dry-run'])).toEqual({
      force: 'web',
      open: false,
      build: false,
      dryRun: true,
    });
    expect(() => parseStartArgs(['--web', '--desktop'])).toThrow(/one of/);
    expect(() => parseStartArgs(['--port=1'])).toThrow(/unknown option/);
  });
});

// Each of these starts Node on the real script: slow on a busy machine, so a generous timeout.
describe('scripts/start.ts itself (--dry-run: nothing is started)', { timeout: 120_000 }, () => {
  const dryRun = async (env: NodeJS.ProcessEnv, args: string[] = []) => {
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'scripts', 'start.ts'), '--dry-run', ...args],
      {
        cwd: ROOT,
        env,
      },
    );
    return JSON.parse(stdout) as LaunchPlan;
  };

  it('chooses what this machine can run', async () => {
    const plan = await dryRun({ PATH: process.env.PATH ?? '' });
    const binary = findElectronBinary(ROOT, process.env);
    expect(plan.mode).toBe(
      binary.found && (process.platform !== 'linux' || process.env.DISPLAY) ? 'desktop' : 'web',
    );
  });

  it('chooses the desktop app when an Electron binary is there (via ELECTRON_OVERRIDE_DIST_PATH)', async () => {
    const dist = join(base, 'script-override');
    await executable(dist, 'electron', 'exit 0');
    const plan = await dryRun({
      PATH: process.env.PATH ?? '',
      ELECTRON_OVERRIDE_DIST_PATH: dist,
      DISPLAY: ':0',
    });
    expect(plan).toMatchObject({ mode: 'desktop', electron: join(dist, 'electron') });
  });

  it('chooses web mode when the binary is missing, and exits 2 when --desktop cannot be honoured', async () => {
    const plan = await dryRun({
      PATH: process.env.PATH ?? '',
      ELECTRON_OVERRIDE_DIST_PATH: join(base, 'nowhere'),
    });
    expect(plan.mode).toBe('web');
    const failed = await run(
      process.execPath,
      [join(ROOT, 'scripts', 'start.ts'), '--dry-run', '--desktop'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ELECTRON_OVERRIDE_DIST_PATH: join(base, 'nowhere') },
      },
    ).catch((error: { code?: number; stderr?: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect(failed.stderr).toMatch(/cannot start the desktop app/);
  });
});

describe('opening a browser', () => {
  it('runs xdg-open with the tokenised URL when there is a display and an opener', async () => {
    const bin = join(base, 'bin-opener');
    const record = join(base, 'opened.txt');
    await executable(bin, 'xdg-open', `printf '%s' "$1" > '${record}'`);
    const url = 'http://127.0.0.1:7788/?token=abc%26def';
    const env = { PATH: bin, DISPLAY: ':0' };
    expect(browserOpener(url, 'linux', env)).toEqual({
      ok: true,
      command: join(bin, 'xdg-open'),
      args: [url],
    });
    expect(openBrowser(url, 'linux', env)).toEqual({ opened: true });
    await vi.waitFor(async () => expect(await readFile(record, 'utf8')).toBe(url), {
      timeout: 15_000,
      interval: 100,
    });
  });

  it('does not try without a display, without an opener, in CI or when told not to — and never throws', () => {
    const url = 'http://127.0.0.1:1/?token=x';
    expect(openBrowser(url, 'linux', { PATH: '/usr/bin:/bin' })).toEqual({
      opened: false,
      reason: 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set)',
    });
    expect(openBrowser(url, 'linux', { PATH: join(base, 'empty'), DISPLAY: ':0' })).toEqual({
      opened: false,
      reason: 'xdg-open was not found on PATH',
    });
    expect(openBrowser(url, 'linux', { DISPLAY: ':0', CI: 'true' }).opened).toBe(false);
    expect(openBrowser(url, 'darwin', { CHAOSCOPE_NO_BROWSER: '1' }).opened).toBe(false);
  });

  it('uses open on macOS and rundll32 on Windows, passing the URL as one argument', async () => {
    const bin = join(base, 'bin-platforms');
    await executable(bin, 'open', 'exit 0');
    await executable(bin, 'rundll32', 'exit 0');
    const url = 'http://127.0.0.1:7788/?token=a&b';
    expect(browserOpener(url, 'darwin', { PATH: bin })).toEqual({
      ok: true,
      command: join(bin, 'open'),
      args: [url],
    });
    expect(browserOpener(url, 'win32', { PATH: bin })).toMatchObject({
      ok: true,
      args: ['url.dll,FileProtocolHandler', url],
    });
  });
});

describe('building the dashboard before start', () => {
  it('is needed when renderer/dist is missing or older than a source file, not otherwise', async () => {
    const root = join(base, 'renderer-root');
    await mkdir(join(root, 'renderer', 'src'), { recursive: true });
    await writeFile(join(root, 'renderer', 'src', 'main.ts'), 'x');
    expect(rendererNeedsBuild(root)).toBe(true);
    await mkdir(join(root, 'renderer', 'dist'), { recursive: true });
    await writeFile(join(root, 'renderer', 'dist', 'index.html'), '<!doctype html>');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(root, 'renderer', 'src', 'main.ts'), past, past);
    expect(rendererNeedsBuild(root)).toBe(false);
    const future = new Date(Date.now() + 60_000);
    await utimes(join(root, 'renderer', 'src', 'main.ts'), future, future);
    expect(rendererNeedsBuild(root)).toBe(true);
  });
});

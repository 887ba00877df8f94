/**
 * `npm start`: the desktop app where it can run, the web dashboard where it cannot.
 *
 * - Desktop: the Electron binary is installed (node_modules/electron/path.txt names a binary that
 *   exists; found WITHOUT `require('electron')`, which would try to download it) and, on Linux, a
 *   display is there. The renderer and the shell are built, then Electron starts the app.
 * - Web: anywhere else (Electron's download is optional and fails offline). The CLI's foreground
 *   `up --runtime auto --loadgen` runs the control plane, the cluster with traffic and the web
 *   dashboard; this prints the dashboard's URL with its token as soon as the control plane has
 *   written its state file, and opens a browser when one can be opened (never failing when not).
 *
 *   npm start                      the choice above
 *   npm start -- --web             web mode even where Electron could run
 *   npm start -- --desktop         the desktop app, or fail saying why it cannot run
 *   npm start -- --no-open         do not open a browser
 *   npm start -- --no-build        do not rebuild the dashboard first, even when it looks stale
 *   npm start -- --dry-run         print the plan as JSON and start nothing
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(import.meta.dirname, '..');

export type ElectronBinary =
  { readonly found: true; readonly path: string } | { readonly found: false; readonly reason: string };

/** Where the `electron` package put its binary, following its own index.js, without running it. */
export function findElectronBinary(root: string, env: NodeJS.ProcessEnv = process.env): ElectronBinary {
  const dir = join(root, 'node_modules', 'electron');
  if (!isFile(join(dir, 'package.json')))
    return { found: false, reason: 'the optional electron package is not installed' };
  let name = '';
  try {
    name = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
  } catch {
    name = '';
  }
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const path = join(env.ELECTRON_OVERRIDE_DIST_PATH, name || 'electron');
    return isExecutable(path)
      ? { found: true, path }
      : {
          found: false,
          reason: `ELECTRON_OVERRIDE_DIST_PATH names ${path}, which is not an executable file`,
        };
  }
  if (!name)
    return {
      found: false,
      reason:
        'the Electron binary was not downloaded (node_modules/electron/path.txt is missing: its download is optional and needs github.com)',
    };
  const path = join(dir, 'dist', name);
  return isExecutable(path)
    ? { found: true, path }
    : {
        found: false,
        reason: `node_modules/electron/path.txt names ${path}, which is not an executable file`,
      };
}

export interface StartArgs {
  readonly force: 'web' | 'desktop' | null;
  readonly open: boolean;
  readonly build: boolean;
  readonly dryRun: boolean;
}

export function parseStartArgs(argv: readonly string[]): StartArgs {
  let force: StartArgs['force'] = null;
  let open = true;
  let build = true;
  let dryRun = false;
  for (const arg of argv) {
    if (arg === '--web' || arg === '--desktop') {
      const wanted = arg === '--web' ? 'web' : 'desktop';
      if (force && force !== wanted) throw new Error('choose one of --web and --desktop');
      force = wanted;
    } else if (arg === '--no-open') open = false;
    else if (arg === '--no-build') build = false;
    else if (arg === '--dry-run') dryRun = true;
    else
      throw new Error(`unknown option ${arg} (options: --web, --desktop, --no-open, --no-build, --dry-run)`);
  }
  return { force, open, build, dryRun };
}

export type LaunchPlan =
  | { readonly mode: 'desktop'; readonly electron: string; readonly reason: string }
  | { readonly mode: 'web'; readonly reason: string; readonly command: readonly string[] };

export interface PlanInput {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly force: StartArgs['force'];
}

/** Web mode's command: the CLI's foreground `up` with traffic, on whichever runtime answers. */
export const WEB_COMMAND = ['bin/chaoscope.js', 'up', '--runtime', 'auto', '--loadgen'] as const;

export function planLaunch(input: PlanInput): LaunchPlan {
  const binary = findElectronBinary(input.root, input.env);
  const web = (reason: string): LaunchPlan => ({ mode: 'web', reason, command: WEB_COMMAND });
  if (input.force === 'web') return web('asked for web mode (--web)');
  if (!binary.found) {
    if (input.force === 'desktop') throw new Error(`cannot start the desktop app: ${binary.reason}`);
    return web(`no desktop app here: ${binary.reason}`);
  }
  const display = hasDisplay(input.platform, input.env);
  if (!display.ok) {
    if (input.force === 'desktop') throw new Error(`cannot start the desktop app: ${display.reason}`);
    return web(`no desktop app here: ${display.reason}`);
  }
  return { mode: 'desktop', electron: binary.path, reason: `Electron found at ${binary.path}` };
}

/** Linux needs an X11 or Wayland display for a window (or a browser); macOS and Windows have one. */
export function hasDisplay(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): { ok: true } | { ok: false; reason: string } {
  if (platform === 'darwin' || platform === 'win32') return { ok: true };
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return { ok: true };
  return { ok: false, reason: 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
}

export type BrowserOpener =
  | { readonly ok: true; readonly command: string; readonly args: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** How to open `url` in the user's browser here, or why not (headless, no opener, CI). */
export function browserOpener(url: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): BrowserOpener {
  if (env.CHAOSCOPE_NO_BROWSER === '1') return { ok: false, reason: 'CHAOSCOPE_NO_BROWSER=1' };
  if (env.CI === 'true' || env.CI === '1') return { ok: false, reason: 'running in CI' };
  const display = hasDisplay(platform, env);
  // Without a display xdg-open would fall back to a text browser and take over this terminal.
  if (!display.ok) return { ok: false, reason: display.reason };
  const command = platform === 'darwin' ? 'open' : platform === 'win32' ? 'rundll32' : 'xdg-open';
  const found = onPath(command, env, platform);
  if (!found) return { ok: false, reason: `${command} was not found on PATH` };
  // rundll32 takes the URL as one argument: no shell, so `&` in the token stays a character.
  const args = platform === 'win32' ? ['url.dll,FileProtocolHandler', url] : [url];
  return { ok: true, command: found, args };
}

/** Open the browser if possible; never throws, never waits for the browser. */
export function openBrowser(
  url: string,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): { opened: boolean; reason?: string } {
  const opener = browserOpener(url, platform, env);
  if (!opener.ok) return { opened: false, reason: opener.reason };
  try {
    const child = spawn(opener.command, [...opener.args], { detached: true, stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
    return { opened: true };
  } catch (error) {
    return { opened: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Rebuild the dashboard when it is missing or older than its sources (when the project has a
 * `build:renderer` script); a failed build is reported and the app starts anyway (it then says the
 * dashboard is not built).
 */
export function rendererNeedsBuild(root: string): boolean {
  const built = mtime(join(root, 'renderer', 'dist', 'index.html'));
  if (built === null) return true;
  return newestMtime(join(root, 'renderer'), new Set(['dist', 'node_modules'])) > built;
}

function buildRendererIfNeeded(root: string): void {
  if (!rendererNeedsBuild(root)) return;
  const scripts =
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> })
      .scripts ?? {};
  if (!scripts['build:renderer']) {
    console.error('chaoscope: the dashboard is not built and this project has no build:renderer script');
    return;
  }
  console.error('chaoscope: building the dashboard (npm run build:renderer)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '-s', 'build:renderer'], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
  });
  if (result.status !== 0) console.error('chaoscope: the dashboard build failed; starting anyway');
}

async function runDesktop(root: string, electron: string, build: boolean): Promise<number> {
  if (build) buildRendererIfNeeded(root);
  const { buildElectron } = await import('./build-electron.ts');
  const built = await buildElectron();
  const env = { ...process.env };
  // Set, it would make Electron behave as plain Node and never open a window.
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(electron, [built.main], { cwd: root, stdio: 'inherit', env });
  return waitForExit(child);
}

async function runWeb(
  root: string,
  command: readonly string[],
  open: boolean,
  build: boolean,
): Promise<number> {
  if (build) buildRendererIfNeeded(root);
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...command], { cwd: root, stdio: 'inherit', env: process.env });
  const exited = waitForExit(child);
  let done = false;
  void exited.then(() => (done = true));
  void announceDashboard(() => done, startedAt, open);
  return exited;
}

/** Wait for the control plane's state file, then print the dashboard URL and open a browser. */
async function announceDashboard(stopped: () => boolean, startedAt: number, open: boolean): Promise<void> {
  const { controlPaths } = await import('../electron/control/paths.ts');
  const { findRunningControlPlane } = await import('../electron/control/state-file.ts');
  const { dashboardUrl } = await import('../electron/control/cli/connection.ts');
  const paths = controlPaths();
  while (!stopped()) {
    const state = await findRunningControlPlane(paths).catch(() => null);
    if (state) {
      const url = dashboardUrl(state.url, state.token);
      const own = Date.parse(state.startedAt) >= startedAt - 1_000;
      console.error(
        `\nchaoscope: the dashboard${own ? '' : ' (of the control plane already running)'} is at\n\n  ${url}\n`,
      );
      if (open) {
        const result = openBrowser(url);
        console.error(
          result.opened
            ? 'chaoscope: opened it in your browser\n'
            : `chaoscope: open it in a browser (${result.reason})\n`,
        );
      }
      return;
    }
    await sleep(400);
  }
}

function waitForExit(child: ChildProcess): Promise<number> {
  const forward = (signal: NodeJS.Signals) => () => {
    // A terminal's Ctrl+C reaches the whole process group already; forward only what it does not.
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`chaoscope: could not start ${child.spawnfile}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  if (!isFile(path)) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | null {
  const names = platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) if (isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function newestMtime(dir: string, skip: ReadonlySet<string>): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path, skip) : (mtime(path) ?? 0));
  }
  return newest;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: StartArgs;
  let plan: LaunchPlan;
  try {
    args = parseStartArgs(argv);
    plan = planLaunch({ root: ROOT, env: process.env, platform: process.platform, force: args.force });
  } catch (error) {
    console.error(`chaoscope: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  if (args.dryRun) {
    console.log(JSON.stringify(plan));
    return 0;
  }
  if (plan.mode === 'desktop') {
    console.error(`chaoscope: starting the desktop app (${plan.reason})`);
    return runDesktop(ROOT, plan.electron, args.build);
  }
  console.error(`chaoscope: ${plan.reason}; starting web mode instead`);
  return runWeb(ROOT, plan.command, args.open, args.build);
}

if (import.meta.filename === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}

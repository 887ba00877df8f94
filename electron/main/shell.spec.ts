/**
 * The whole shell (startShell) against a STAND-IN for the `electron` module: the order of things
 * before `ready`, the window, the protocol, the menu, the single-instance lock, and the quit that
 * asks about the cluster. A recording backend stands where the control plane goes.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, isApiError, type EventBatch, type InvokeResult } from '../api/index.ts';
import { createBridge, type BridgeIpc } from '../preload/bridge.ts';
import { createElectronStandIn, type ElectronStandIn } from '../../test/support/electron-stand-in.ts';
import { startShell, type ShellBackend, type ShellElectron, type ShellOptions } from './shell.ts';

let base: string;
let rendererRoot: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'chaoscope-shell-'));
  rendererRoot = join(base, 'renderer-dist');
  await mkdir(rendererRoot);
  await writeFile(join(rendererRoot, 'index.html'), '<!doctype html><title>Chaoscope</title>');
  await writeFile(join(base, 'secret.txt'), 'TOP SECRET');
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function backendDouble(options: { clusterRunning?: boolean; downFails?: boolean } = {}) {
  const calls: string[] = [];
  let running = options.clusterRunning ?? false;
  let closed = 0;
  const backend: ShellBackend = {
    async invoke(name): Promise<InvokeResult> {
      calls.push(name);
      if (name === 'cluster.status')
        return running
          ? { ok: true, value: {} }
          : { ok: false, error: { code: 'NO_CLUSTER', message: 'no cluster is running' } };
      if (name === 'cluster.down') {
        if (options.downFails)
          return { ok: false, error: { code: 'FAILED', message: 'gateway did not stop' } };
        running = false;
        return { ok: true, value: { clusterId: 'c1', stopped: ['gateway'], volumesRemoved: false } };
      }
      if (name === 'faults.remove') return { ok: true, value: { removed: false } };
      return { ok: false, error: { code: 'UNSUPPORTED', message: `${name} is not part of this test` } };
    },
    subscribe: (_listener: (batch: EventBatch) => void) => () => {},
    async close() {
      closed += 1;
    },
  };
  return { backend, calls, closed: () => closed };
}

interface Started {
  standIn: ElectronStandIn;
  shell: ReturnType<typeof startShell>;
  double: ReturnType<typeof backendDouble>;
  backendStarts: () => number;
  logs: string[];
}

function start(
  overrides: Partial<ShellOptions> & { packaged?: boolean; lockAvailable?: boolean } = {},
  double = backendDouble(),
): Started {
  const standIn = createElectronStandIn({
    ...(overrides.packaged !== undefined ? { packaged: overrides.packaged } : {}),
    ...(overrides.lockAvailable !== undefined ? { lockAvailable: overrides.lockAvailable } : {}),
  });
  let backendStarts = 0;
  const logs: string[] = [];
  const shell = startShell({
    electron: standIn as unknown as ShellElectron,
    rendererRoot,
    preloadPath: '/app/electron/dist/preload.cjs',
    dataDir: '/home/user/.local/share/chaoscope',
    platform: 'linux',
    log: (line) => logs.push(line),
    startBackend: async () => {
      backendStarts += 1;
      return double.backend;
    },
    ...overrides,
  });
  return { standIn, shell, double, backendStarts: () => backendStarts, logs };
}

async function startReady(
  overrides: Parameters<typeof start>[0] = {},
  double = backendDouble(),
): Promise<Started> {
  const started = start(overrides, double);
  started.standIn.app.emitReady();
  await started.shell.ready;
  return started;
}

/** Let queued promise callbacks (the quit decision, the dialog) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('before the app is ready (stand-in electron)', () => {
  it('registers app:// as privileged, enables the sandbox for every renderer, and takes the single-instance lock', () => {
    const { standIn } = start();
    expect(standIn.calls).toEqual([
      'protocol.registerSchemesAsPrivileged',
      'app.enableSandbox',
      'app.requestSingleInstanceLock',
    ]);
    expect(standIn.protocol.privileged).toEqual([
      { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
    ]);
    expect(standIn.BrowserWindow.getAllWindows()).toHaveLength(0);
  });
});

describe('the window (stand-in electron)', () => {
  it('is created with the secure web preferences, dark while loading, hidden until painted', async () => {
    const { standIn } = await startReady();
    const [window] = standIn.BrowserWindow.getAllWindows();
    expect(window).toBeDefined();
    if (!window) return;
    expect(window.options).toMatchObject({
      title: 'Chaoscope',
      backgroundColor: '#0f1117',
      show: false,
      webPreferences: {
        preload: '/app/electron/dist/preload.cjs',
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
        webviewTag: false,
        devTools: true,
      },
    });
    expect(window.options.width).toBeGreaterThanOrEqual(1024);
    expect(window.visible).toBe(false);
    window.emit('ready-to-show');
    expect(window.visible).toBe(true);
  });

  it('loads only app://chaoscope/index.html, and that navigation rules apply to it', async () => {
    const { standIn, shell } = await startReady();
    const window = standIn.BrowserWindow.getAllWindows()[0];
    expect(window?.loadedUrls).toEqual(['app://chaoscope/index.html']);
    expect(window?.webContents.attemptNavigation('https://example.com/')).toBe(false);
    expect(window?.webContents.attemptWindowOpen('https://example.com/')).toBe('deny');
    expect(shell.denials().map((d) => d.kind)).toEqual(['navigation', 'window-open']);
  });

  it('has no developer tools in a packaged app', async () => {
    const { standIn } = await startReady({ packaged: true });
    const window = standIn.BrowserWindow.getAllWindows()[0];
    expect(window?.options.webPreferences).toMatchObject({ devTools: false });
  });

  it('serves renderer/dist through the app protocol, refusing traversal, with the session hardened', async () => {
    const { standIn } = await startReady();
    const page = await standIn.protocol.fetch('app://chaoscope/index.html');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const traversal = await standIn.protocol.fetch('app://chaoscope/..%2fsecret.txt');
    expect(traversal.status).toBe(403);
    expect(await traversal.text()).not.toContain('TOP SECRET');
    expect(await standIn.session.defaultSession.requestPermission('media')).toBe(false);
    expect(await standIn.session.defaultSession.allowsRequest('https://example.com/')).toBe(false);
  });
});

describe('the menu (stand-in electron)', () => {
  const roles = (template: unknown[]): string[] =>
    (template as MenuItemConstructorOptions[]).flatMap((item) => [
      ...(item.role ? [item.role] : []),
      ...(Array.isArray(item.submenu) ? roles(item.submenu) : []),
    ]);
  const labels = (template: unknown[]): string[] =>
    (template as MenuItemConstructorOptions[]).flatMap((item) => [
      ...(item.label ? [item.label] : []),
      ...(Array.isArray(item.submenu) ? labels(item.submenu) : []),
    ]);

  it('has reload and the developer tools in development', async () => {
    const { standIn } = await startReady({ packaged: false });
    const template = standIn.Menu.applied?.template ?? [];
    expect(roles(template)).toEqual(
      expect.arrayContaining(['reload', 'forceReload', 'toggleDevTools', 'quit', 'help']),
    );
    expect(labels(template)).toEqual(
      expect.arrayContaining(['File', 'View', 'About Chaoscope', 'Open Data Folder']),
    );
  });

  it('has neither in a packaged app', async () => {
    const { standIn } = await startReady({ packaged: true });
    const template = standIn.Menu.applied?.template ?? [];
    expect(roles(template)).not.toContain('toggleDevTools');
    expect(roles(template)).not.toContain('reload');
    expect(roles(template)).not.toContain('forceReload');
    expect(roles(template)).toContain('togglefullscreen');
  });

  it('opens the data folder and shows the versions from Help', async () => {
    const { standIn } = await startReady();
    const help = (standIn.Menu.applied?.template as MenuItemConstructorOptions[]).find(
      (i) => i.role === 'help',
    );
    const items = (help?.submenu ?? []) as MenuItemConstructorOptions[];
    const click = (label: string) =>
      (items.find((i) => i.label === label)?.click as (() => void) | undefined)?.();
    click('Open Data Folder');
    expect(standIn.shell.opened).toEqual(['/home/user/.local/share/chaoscope']);
    standIn.dialog.responses.push(0);
    click('About Chaoscope');
    expect(standIn.dialog.shown.at(-1)).toMatchObject({ message: 'Chaoscope 0.1.0' });
    expect(String(standIn.dialog.shown.at(-1)?.detail)).toContain('API v1');
  });

  it('puts the app menu first on macOS', async () => {
    const { standIn } = await startReady({ platform: 'darwin' });
    const [first] = standIn.Menu.applied?.template as MenuItemConstructorOptions[];
    expect(first?.label).toBe('Chaoscope');
  });
});

describe('a single instance (stand-in electron)', () => {
  it('quits at once when another instance holds the lock: no window, no control plane', async () => {
    const started = start({ lockAvailable: false });
    expect(started.shell.primary).toBe(false);
    expect(started.standIn.app.quitRequests).toBe(1);
    expect(started.standIn.app.quitted).toBe(true);
    started.standIn.app.emitReady();
    await settle();
    expect(started.standIn.BrowserWindow.getAllWindows()).toHaveLength(0);
    expect(started.backendStarts()).toBe(0);
  });

  it('brings the existing window back when the app is launched again', async () => {
    const { standIn } = await startReady();
    const window = standIn.BrowserWindow.getAllWindows()[0];
    window?.minimize();
    standIn.app.emitSecondInstance(['chaoscope']);
    expect(window?.isMinimized()).toBe(false);
    expect(window?.focused).toBe(true);
    expect(standIn.BrowserWindow.getAllWindows()).toHaveLength(1);
  });
});

describe('IPC once started (stand-in electron)', () => {
  it('answers the page through the preload bridge, and the control plane starts once', async () => {
    const { standIn, backendStarts, double } = await startReady();
    const window = standIn.BrowserWindow.getAllWindows()[0];
    if (!window) throw new Error('no window');
    const api = createApiClient(
      createBridge(standIn.ipcRendererFor(window.webContents) as unknown as BridgeIpc),
    );
    await expect(api.faults.remove({ service: 'users', id: 'f' })).resolves.toEqual({ removed: false });
    expect(double.calls).toEqual(['faults.remove']);
    expect(backendStarts()).toBe(1);
  });

  it('answers UNAVAILABLE with the reason when the control plane could not start', async () => {
    const standIn = createElectronStandIn();
    const shell = startShell({
      electron: standIn as unknown as ShellElectron,
      rendererRoot,
      preloadPath: '/p.cjs',
      dataDir: '/d',
      platform: 'linux',
      log: () => {},
      startBackend: () => Promise.reject(new Error('a control plane is already running (pid 42)')),
    });
    standIn.app.emitReady();
    await shell.ready;
    const window = standIn.BrowserWindow.getAllWindows()[0];
    if (!window) throw new Error('no window');
    const api = createApiClient(
      createBridge(standIn.ipcRendererFor(window.webContents) as unknown as BridgeIpc),
    );
    const error: unknown = await api.cluster.status().catch((e: unknown) => e);
    expect(isApiError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('already running (pid 42)');
    // Nothing to ask about on quit: it just quits.
    standIn.app.quit();
    await settle();
    expect(standIn.dialog.shown).toHaveLength(0);
    expect(standIn.app.quitted).toBe(true);
  });
});

describe('quitting (stand-in electron)', () => {
  it('asks while a cluster runs; "stop" takes it down, closes the control plane, then quits', async () => {
    const { standIn, double } = await startReady({}, backendDouble({ clusterRunning: true }));
    standIn.dialog.responses.push(0);
    standIn.app.quit();
    expect(standIn.app.quitted).toBe(false);
    await settle();
    expect(standIn.dialog.shown[0]).toMatchObject({
      message: 'The tweet cluster is still running.',
      buttons: ['Stop the Cluster and Quit', 'Quit, Leave It Running', 'Cancel'],
      cancelId: 2,
    });
    expect(double.calls).toEqual(['cluster.status', 'cluster.down']);
    expect(double.closed()).toBe(1);
    expect(standIn.app.quitted).toBe(true);
  });

  it('"leave it running" closes the control plane and quits without touching the cluster', async () => {
    const { standIn, double } = await startReady({}, backendDouble({ clusterRunning: true }));
    standIn.dialog.responses.push(1);
    standIn.app.quit();
    await settle();
    expect(double.calls).toEqual(['cluster.status']);
    expect(double.closed()).toBe(1);
    expect(standIn.app.quitted).toBe(true);
  });

  it('"cancel" keeps everything running and brings a window back', async () => {
    const { standIn, double } = await startReady({}, backendDouble({ clusterRunning: true }));
    standIn.dialog.responses.push(2);
    standIn.BrowserWindow.getAllWindows()[0]?.close();
    await settle();
    expect(standIn.app.quitRequests).toBe(1);
    expect(standIn.app.quitted).toBe(false);
    expect(double.closed()).toBe(0);
    expect(standIn.BrowserWindow.getAllWindows()).toHaveLength(1);
    // Asked again next time.
    standIn.dialog.responses.push(1);
    standIn.app.quit();
    await settle();
    expect(standIn.dialog.shown).toHaveLength(2);
    expect(standIn.app.quitted).toBe(true);
  });

  it('does not ask when no cluster runs', async () => {
    const { standIn, double } = await startReady();
    standIn.app.quit();
    await settle();
    expect(standIn.dialog.shown).toHaveLength(0);
    expect(double.closed()).toBe(1);
    expect(standIn.app.quitted).toBe(true);
  });

  it('says so when the cluster could not be stopped, and still quits', async () => {
    const { standIn } = await startReady({}, backendDouble({ clusterRunning: true, downFails: true }));
    standIn.dialog.responses.push(0);
    standIn.app.quit();
    await settle();
    expect(standIn.dialog.errors[0]?.title).toBe('The cluster could not be stopped');
    expect(standIn.dialog.errors[0]?.content).toContain('gateway did not stop');
    expect(standIn.app.quitted).toBe(true);
  });

  it('quits when the last window closes on Linux and Windows, not on macOS', async () => {
    const linux = await startReady();
    linux.standIn.BrowserWindow.getAllWindows()[0]?.close();
    await settle();
    expect(linux.standIn.app.quitted).toBe(true);
    const mac = await startReady({ platform: 'darwin' });
    mac.standIn.BrowserWindow.getAllWindows()[0]?.close();
    await settle();
    expect(mac.standIn.app.quitRequests).toBe(0);
    mac.standIn.app.emit('activate');
    expect(mac.standIn.BrowserWindow.getAllWindows()).toHaveLength(1);
  });

  it('quits without a dialog on a signal, leaving the cluster running', async () => {
    const { standIn, shell, double } = await startReady({}, backendDouble({ clusterRunning: true }));
    shell.quitGuard?.quitWithoutAsking('leave');
    await settle();
    expect(standIn.dialog.shown).toHaveLength(0);
    expect(double.calls).not.toContain('cluster.down');
    expect(standIn.app.quitted).toBe(true);
  });
});

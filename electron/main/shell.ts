/**
 * The desktop shell, wired: the app protocol, the hardened session and web contents, the window,
 * the menu, the single-instance lock, IPC to the control plane and the quit that asks about the
 * cluster. Everything Electron is passed in (`ShellElectron`), so the unit tests drive this very
 * function with a stand-in for the `electron` module and check every item of the checklist.
 */
import type {
  App,
  BrowserWindow,
  Dialog,
  IpcMain,
  Menu,
  Protocol,
  Screen,
  Session,
  Shell,
  WebContents,
} from 'electron';
import type { CommandName } from '../api/commands.ts';
import { ApiError, type InvokeResult } from '../api/errors.ts';
import { API_VERSION } from '../api/version.ts';
import { APP_SCHEME } from './app-origin.ts';
import { APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './app-protocol.ts';
import { registerIpc, type CommandBackend } from './ipc.ts';
import { applicationMenuTemplate } from './menu.ts';
import { installQuitGuard, type QuitChoice, type QuitGuard } from './quit-guard.ts';
import { hardenSession, hardenWebContents, type Denial } from './security.ts';
import { claimSingleInstance } from './single-instance.ts';
import { createMainWindow, focusWindow, type BrowserWindowClass } from './window.ts';

/** The parts of the `electron` module the shell uses. */
export interface ShellElectron {
  readonly app: App;
  readonly BrowserWindow: BrowserWindowClass & { getAllWindows(): BrowserWindow[] };
  readonly ipcMain: IpcMain;
  readonly protocol: Pick<Protocol, 'registerSchemesAsPrivileged' | 'handle'>;
  readonly session: { readonly defaultSession: Session };
  readonly Menu: Pick<typeof Menu, 'buildFromTemplate' | 'setApplicationMenu'>;
  readonly dialog: Pick<Dialog, 'showMessageBox' | 'showErrorBox'>;
  readonly shell: Pick<Shell, 'openPath'>;
  readonly screen: Pick<Screen, 'getPrimaryDisplay'>;
}

/** The control plane as the shell holds it: commands, events, and a clean close. */
export interface ShellBackend extends CommandBackend {
  close(): Promise<void>;
}

export interface ShellOptions {
  readonly electron: ShellElectron;
  /** The folder served as `app://chaoscope/` (renderer/dist). */
  readonly rendererRoot: string;
  /** The bundled, sandboxed preload (CommonJS). */
  readonly preloadPath: string;
  /** Where the cluster, logs and telemetry live (Help → Open Data Folder). */
  readonly dataDir: string;
  /** Start the control plane; called once the app is ready. */
  readonly startBackend: () => Promise<ShellBackend>;
  /** Development: reload and developer tools in the menu. Default: `!app.isPackaged`. */
  readonly isDev?: boolean;
  readonly platform?: NodeJS.Platform;
  readonly log?: (message: string) => void;
}

export interface ShellHandle {
  /** False when another instance holds the lock: this one is quitting. */
  readonly primary: boolean;
  /** Resolves once the window exists and IPC is wired. */
  readonly ready: Promise<void>;
  readonly mainWindow: () => BrowserWindow | null;
  readonly quitGuard: QuitGuard | null;
  /** Refusals seen so far (navigation, permissions, IPC…), newest last; for the log and tests. */
  readonly denials: () => readonly Denial[];
}

const MAX_DENIALS_KEPT = 200;

export function startShell(options: ShellOptions): ShellHandle {
  const { electron } = options;
  const { app } = electron;
  const log = options.log ?? ((message: string) => console.log(`chaoscope: ${message}`));
  const platform = options.platform ?? process.platform;
  const isDev = options.isDev ?? !app.isPackaged;
  const denials: Denial[] = [];
  const onDenied = (denial: Denial) => {
    denials.push(denial);
    if (denials.length > MAX_DENIALS_KEPT) denials.shift();
    log(`refused ${denial.kind}: ${denial.what}`);
  };

  // Before `ready`: the scheme's privileges, and a sandbox for every renderer whatever its options.
  electron.protocol.registerSchemesAsPrivileged([
    { ...APP_SCHEME_PRIVILEGES, privileges: { ...APP_SCHEME_PRIVILEGES.privileges } },
  ]);
  app.enableSandbox();

  let mainWindow: BrowserWindow | null = null;
  let windowReady = false;
  const openWindow = () => {
    if (mainWindow && !mainWindow.isDestroyed()) return focusWindow(mainWindow);
    if (!windowReady) return;
    const { workAreaSize } = electron.screen.getPrimaryDisplay();
    const window = createMainWindow(
      electron.BrowserWindow,
      { preload: options.preloadPath, devTools: isDev, workArea: workAreaSize },
      log,
    );
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = null;
    });
    mainWindow = window;
  };

  if (!claimSingleInstance(app, openWindow)) {
    return {
      primary: false,
      ready: Promise.resolve(),
      mainWindow: () => null,
      quitGuard: null,
      denials: () => denials,
    };
  }

  // Every web contents, now and later (devtools, a window added one day), gets the same rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, onDenied));

  const backend = lazyBackend(options.startBackend, log);
  const isOurContents = (contents: WebContents) =>
    mainWindow !== null && !mainWindow.isDestroyed() && mainWindow.webContents === contents;

  const quitGuard = installQuitGuard({
    app,
    clusterRunning: async () => {
      const answer = await backend.invoke('cluster.status', {});
      if (answer.ok) return true;
      if (answer.error.code === 'NO_CLUSTER' || answer.error.code === 'UNAVAILABLE') return false;
      throw ApiError.from(answer.error);
    },
    ask: () => askAboutCluster(electron.dialog, mainWindow),
    stopCluster: async () => {
      const answer = await backend.invoke('cluster.down', { volumes: false });
      if (!answer.ok) throw ApiError.from(answer.error);
    },
    shutdown: () => backend.close(),
    onCancel: () => openWindow(),
    onStopFailed: async (error) => {
      electron.dialog.showErrorBox(
        'The cluster could not be stopped',
        `${error instanceof Error ? error.message : String(error)}\n\nIt keeps running; \`npx chaoscope down\` stops it.`,
      );
    },
    log,
  });

  app.on('window-all-closed', () => {
    // macOS keeps apps alive without windows (the dock icon reopens one); elsewhere, quit (and ask).
    if (platform !== 'darwin') app.quit();
  });
  app.on('activate', () => openWindow());

  const ready = app.whenReady().then(() => {
    const session = electron.session.defaultSession;
    hardenSession(session, onDenied);
    electron.protocol.handle(
      APP_SCHEME,
      createAppProtocolHandler({
        root: options.rendererRoot,
        onRefused: (url, status, reason) =>
          onDenied({ kind: 'request', what: `${url} (${status} ${reason})` }),
      }),
    );
    electron.Menu.setApplicationMenu(
      electron.Menu.buildFromTemplate(
        applicationMenuTemplate({
          appName: app.getName(),
          platform,
          isDev,
          actions: {
            about: () => {
              showAbout(electron, options.dataDir, mainWindow).catch((error: unknown) =>
                log(`the About dialog failed: ${describe(error)}`),
              );
            },
            openDataFolder: () => {
              electron.shell.openPath(options.dataDir).then(
                (problem) => problem && log(`could not open ${options.dataDir}: ${problem}`),
                () => {},
              );
            },
          },
        }),
      ),
    );
    registerIpc(electron.ipcMain, {
      backend,
      isOurContents,
      onRefused: (channel, reason) => onDenied({ kind: 'request', what: `IPC ${channel}: ${reason}` }),
    });
    backend.start();
    windowReady = true;
    openWindow();
  });
  ready.catch((error: unknown) => log(`the shell failed to start: ${String(error)}`));

  return { primary: true, ready, mainWindow: () => mainWindow, quitGuard, denials: () => denials };
}

interface LazyBackend extends ShellBackend {
  start(): void;
}

/**
 * The window opens while the control plane starts (its store and collector take a moment): IPC
 * waits for it. If it cannot start (another control plane holds the per-user lock, a port is
 * taken), every command answers UNAVAILABLE with the reason instead of hanging.
 */
function lazyBackend(startBackend: () => Promise<ShellBackend>, log: (message: string) => void): LazyBackend {
  let started = false;
  let resolveStarted: (backend: ShellBackend) => void = () => {};
  let rejectStarted: (error: unknown) => void = () => {};
  const whenStarted = new Promise<ShellBackend>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  whenStarted.catch((error: unknown) => log(`the control plane did not start: ${describe(error)}`));
  let failure: InvokeResult | null = null;
  whenStarted.catch((error: unknown) => {
    failure = {
      ok: false,
      error: { code: 'UNAVAILABLE', message: `the control plane did not start: ${describe(error)}` },
    };
  });
  return {
    start() {
      if (started) return;
      started = true;
      Promise.resolve().then(startBackend).then(resolveStarted, rejectStarted);
    },
    async invoke(name: CommandName, input: unknown): Promise<InvokeResult> {
      const backend = await whenStarted.catch(() => null);
      return backend
        ? backend.invoke(name, input)
        : (failure ?? {
            ok: false,
            error: { code: 'UNAVAILABLE', message: 'the control plane did not start' },
          });
    },
    subscribe(listener) {
      let off: (() => void) | null = null;
      let cancelled = false;
      whenStarted.then(
        (backend) => {
          if (!cancelled) off = backend.subscribe(listener);
        },
        () => {},
      );
      return () => {
        cancelled = true;
        off?.();
      };
    },
    async close() {
      if (!started) return;
      const backend = await whenStarted.catch(() => null);
      await backend?.close();
    },
  };
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'failed';
}

async function askAboutCluster(
  dialog: ShellElectron['dialog'],
  window: BrowserWindow | null,
): Promise<QuitChoice> {
  const options = {
    type: 'question' as const,
    title: 'Quit Chaoscope',
    message: 'The tweet cluster is still running.',
    detail:
      'Stop it now, or leave it running: the command line (`npx chaoscope status`) and the next launch of the app find it again.',
    buttons: ['Stop the Cluster and Quit', 'Quit, Leave It Running', 'Cancel'],
    defaultId: 0,
    cancelId: 2,
    noLink: true,
  };
  const live = window && !window.isDestroyed() ? window : null;
  const { response } = live
    ? await dialog.showMessageBox(live, options)
    : await dialog.showMessageBox(options);
  return response === 0 ? 'stop' : response === 1 ? 'leave' : 'cancel';
}

async function showAbout(
  electron: ShellElectron,
  dataDir: string,
  window: BrowserWindow | null,
): Promise<void> {
  const { app, dialog } = electron;
  const options = {
    type: 'info' as const,
    title: `About ${app.getName()}`,
    message: `${app.getName()} ${app.getVersion()}`,
    detail: [
      'A desktop observability and chaos lab for microservices.',
      '',
      `Electron ${process.versions.electron ?? '?'} · Chromium ${process.versions.chrome ?? '?'} · Node ${process.versions.node}`,
      `Control-plane API v${API_VERSION}`,
      `Data: ${dataDir}`,
    ].join('\n'),
    buttons: ['OK'],
    noLink: true,
  };
  if (window && !window.isDestroyed()) await dialog.showMessageBox(window, options);
  else await dialog.showMessageBox(options);
}

/**
 * The main window: sized to the screen, dark from the first frame (no white flash while the
 * renderer loads), shown once it has painted, loading only `app://chaoscope/`.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { APP_ENTRY_URL } from './app-origin.ts';
import { secureWebPreferences } from './security.ts';

/** The colour of the dark theme's background, so loading looks like the app and not a flash. */
export const LOADING_BACKGROUND = '#0f1117';

export interface MainWindowConfig {
  readonly preload: string;
  readonly devTools: boolean;
  /** The primary display's work area; the window takes most of it, up to 1440×900. */
  readonly workArea?: { readonly width: number; readonly height: number };
}

export function mainWindowOptions(config: MainWindowConfig): BrowserWindowConstructorOptions {
  const area = config.workArea ?? { width: 1600, height: 1000 };
  return {
    title: 'Chaoscope',
    width: Math.max(1024, Math.min(1440, Math.round(area.width * 0.9))),
    height: Math.max(680, Math.min(900, Math.round(area.height * 0.9))),
    minWidth: 960,
    minHeight: 600,
    backgroundColor: LOADING_BACKGROUND,
    show: false,
    webPreferences: secureWebPreferences({ preload: config.preload, devTools: config.devTools }),
  };
}

/** The slice of `BrowserWindow` the shell constructs (the class, or a stand-in in tests). */
export type BrowserWindowClass = new (options: BrowserWindowConstructorOptions) => BrowserWindow;

export function createMainWindow(
  BrowserWindowCtor: BrowserWindowClass,
  config: MainWindowConfig,
  log: (message: string) => void = () => {},
): BrowserWindow {
  const window = new BrowserWindowCtor(mainWindowOptions(config));
  window.once('ready-to-show', () => window.show());
  // A page that fails to load must still show the window (with the error), not leave it hidden.
  window.webContents.once('did-fail-load', (_event, code, description, url) => {
    log(`the window could not load ${url}: ${description} (${code})`);
    if (!window.isDestroyed() && !window.isVisible()) window.show();
  });
  window.loadURL(APP_ENTRY_URL).catch((error: unknown) => {
    log(
      `the window could not load ${APP_ENTRY_URL}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  return window;
}

/** Bring a window to the front, un-minimising it (a second launch, the dock icon). */
export function focusWindow(window: BrowserWindow): void {
  if (window.isDestroyed()) return;
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

/**
 * The STAND-IN as a module named `electron`, for running the real bundle (electron/dist/main.mjs)
 * under plain Node: test/support/electron-stand-in-hooks.ts resolves `electron` here. It emits
 * `ready` once the bundle's top level has run, exits the process when a quit goes through (as
 * Electron does), and with CHAOSCOPE_STAND_IN_PROBE=1 plays a page of the window: it loads the
 * entry through the app protocol and calls the control plane over IPC, printing what it saw as
 * `stand-in {json}` lines on stdout.
 */
import { createElectronStandIn } from './electron-stand-in.ts';

const standIn = createElectronStandIn({
  onQuit: () => setImmediate(() => process.exit(process.exitCode ?? 0)),
});

export const app = standIn.app;
export const BrowserWindow = standIn.BrowserWindow;
export const ipcMain = standIn.ipcMain;
export const protocol = standIn.protocol;
export const session = standIn.session;
export const Menu = standIn.Menu;
export const dialog = standIn.dialog;
export const shell = standIn.shell;
export const screen = standIn.screen;
export const contextBridge = standIn.contextBridge;

function report(kind: string, data: unknown): void {
  process.stdout.write(`stand-in ${JSON.stringify({ kind, data })}\n`);
}

async function probe(): Promise<void> {
  let window = standIn.BrowserWindow.getAllWindows()[0];
  while (!window) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    window = standIn.BrowserWindow.getAllWindows()[0];
  }
  report('window', { loaded: window.loadedUrls, options: window.options });
  const page = await standIn.protocol.fetch('app://chaoscope/index.html');
  report('page', { status: page.status, csp: page.headers.get('content-security-policy') });
  const traversal = await standIn.protocol.fetch('app://chaoscope/..%2f..%2fpackage.json');
  report('traversal', { status: traversal.status });
  const sender = { contents: window.webContents, frame: window.webContents.mainFrame };
  report('system.info', await standIn.ipcMain.invokeFrom(sender, 'chaoscope:invoke:system.info', {}));
  report(
    'malformed',
    await standIn.ipcMain.invokeFrom(sender, 'chaoscope:invoke:service.kill', { service: 42 }),
  );
  report('ready', null);
}

setImmediate(() => {
  standIn.app.emitReady();
  if (process.env.CHAOSCOPE_STAND_IN_PROBE === '1')
    probe().catch((error: unknown) => report('probe-failed', String(error)));
});

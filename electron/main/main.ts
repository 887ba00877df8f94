/**
 * The Electron main process entry (bundled to electron/dist/main.mjs by scripts/build-electron.ts).
 * It composes the shell (shell.ts) with the control plane, which runs here, in-process: the window
 * talks to it over IPC; web mode listens too (loopback, per-run token, state file), so the CLI and
 * a browser reach the same control plane while the app runs.
 */
import * as electron from 'electron';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../../sample-cluster/runtime/select.ts';
import { ProcessRuntime } from '../../sample-cluster/runtime/process/runtime.ts';
import { startControlPlane } from '../control/control-plane.ts';
import { controlPaths } from '../control/paths.ts';
import { findNodeBinary } from './node-binary.ts';
import { startShell, type ShellHandle } from './shell.ts';

const rendererRoot = fileURLToPath(new URL('../../renderer/dist/', import.meta.url));
const preloadPath = fileURLToPath(new URL('../dist/preload.cjs', import.meta.url));

// A separate Chromium profile (and single-instance lock) per run, for tests and side-by-side use.
if (process.env.CHAOSCOPE_USER_DATA) electron.app.setPath('userData', process.env.CHAOSCOPE_USER_DATA);

let handle: ShellHandle | null = null;
handle = startShell({
  electron,
  rendererRoot,
  preloadPath,
  dataDir: controlPaths().home,
  startBackend: () =>
    startControlPlane({
      // Web mode too: the CLI (and a browser) find this control plane through its state file.
      webPort: 0,
      mode: 'app',
      onShutdownRequest: (stopCluster) =>
        handle?.quitGuard?.quitWithoutAsking(stopCluster ? 'stop' : 'leave'),
      createRuntime: (kind, options) => {
        if (kind !== 'process') return createRuntime(kind, options);
        // Inside Electron, process.execPath is not Node: give the services a real one.
        const node = findNodeBinary();
        if (!node.ok) throw new Error(node.reason);
        return new ProcessRuntime({ ...options, nodePath: node.path });
      },
    }),
});

// Ctrl+C in the terminal that started the app, or a service manager stopping it: quit without a
// dialog nobody would see, leaving the cluster running for the next launch or the CLI to adopt.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (handle?.quitGuard) handle.quitGuard.quitWithoutAsking('leave');
    else electron.app.exit(0);
  });
}

/**
 * The preload: runs sandboxed, before the page, with `contextIsolation`. It exposes the bridge
 * (see bridge.ts) as `window.chaoscope` and does nothing else. Bundled to CommonJS by
 * scripts/build-electron.ts: a sandboxed preload may `require` only `electron` (and a few
 * built-ins), so everything else it uses is inlined.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.ts';
import { BRIDGE_KEY } from './channels.ts';

contextBridge.exposeInMainWorld(BRIDGE_KEY, createBridge(ipcRenderer));

/**
 * What the page gets as `window.chaoscope`: the contract's transport and nothing else. It carries
 * the commands of `electron/api` by name (one IPC channel each, a name outside the contract never
 * reaches the main process) and the event batches; there is no raw `ipcRenderer`, no channel
 * name, no `send` to pass through.
 *
 * Why a transport and not the grouped client (`api.cluster.up()`): `contextBridge` copies an Error
 * that crosses it without its custom properties, so an `ApiError`'s `code` and `details` would be
 * lost on the way. Answers therefore cross as data (`{ok, value} | {ok: false, error}`) and the
 * page wraps the bridge in `createApiClient(window.chaoscope)` from the contract: the same typed
 * client, the same errors, as in web mode.
 */
import type { IpcRenderer, IpcRendererEvent } from 'electron';
import type { ApiTransport } from '../api/client.ts';
import type { CommandName } from '../api/commands.ts';
import type { InvokeResult } from '../api/errors.ts';
import { API_VERSION } from '../api/version.ts';
import { EVENTS_CHANNEL, SUBSCRIBE_CHANNEL, UNSUBSCRIBE_CHANNEL, invokeChannel } from './channels.ts';

export interface ChaoscopeBridge extends ApiTransport {
  /** The contract version this shell speaks, so the page can refuse a mismatch up front. */
  readonly apiVersion: number;
  /** Which transport this is (the page may show it; web mode has its own). */
  readonly transport: 'ipc';
}

export type BridgeIpc = Pick<IpcRenderer, 'invoke' | 'send' | 'on' | 'removeListener'>;

/**
 * The shape of a command name (`group.method`). The contract itself (zod and every schema) stays
 * out of the preload, which is parsed again on every page load; main validates names and inputs.
 */
const COMMAND_NAME = /^[a-z][a-zA-Z]*\.[a-z][a-zA-Z]*$/;

function notFound(name: unknown): InvokeResult {
  return { ok: false, error: { code: 'NOT_FOUND', message: `no command "${String(name)}"` } };
}

export function createBridge(ipc: BridgeIpc): ChaoscopeBridge {
  const listeners = new Set<(batch: unknown) => void>();
  const dispatch = (_event: IpcRendererEvent, batch: unknown) => {
    for (const listener of [...listeners]) {
      try {
        listener(batch);
      } catch (error) {
        // One broken view must not stop the others from getting their events.
        console.error('chaoscope: an event listener threw', error);
      }
    }
  };

  return {
    apiVersion: API_VERSION,
    transport: 'ipc',
    async invoke(name: string, input: unknown): Promise<unknown> {
      if (typeof name !== 'string' || !COMMAND_NAME.test(name)) return notFound(name);
      try {
        return await ipc.invoke(invokeChannel(name as CommandName), input);
      } catch (error) {
        // Main registers one handler per command of the contract; no handler means no such command.
        if (error instanceof Error && error.message.includes('No handler registered')) return notFound(name);
        throw error;
      }
    },
    subscribe(listener: (batch: unknown) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError('subscribe needs a listener function');
      // A function crossing the bridge is a new proxy each time: track this subscription by closure.
      const entry = (batch: unknown) => listener(batch);
      if (listeners.size === 0) {
        ipc.on(EVENTS_CHANNEL, dispatch);
        ipc.send(SUBSCRIBE_CHANNEL);
      }
      listeners.add(entry);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        listeners.delete(entry);
        if (listeners.size === 0) {
          ipc.removeListener(EVENTS_CHANNEL, dispatch);
          ipc.send(UNSUBSCRIBE_CHANNEL);
        }
      };
    },
  };
}

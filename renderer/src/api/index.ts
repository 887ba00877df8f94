/**
 * The one API client of the renderer. In the Electron window the preload exposes a transport as
 * `window.chaoscope`; in a browser (web mode) the page talks HTTP + WebSocket to its own origin.
 * Either way the contract's client validates every input, answer and event batch.
 */
import { reactive } from 'vue';
import { createApiClient, type ApiTransport, type ChaoscopeApi } from '../../../electron/api/index.ts';
import { createWebTransport, forgetTokenInUrl, type SocketState } from './web-transport.ts';

export type TransportKind = 'electron' | 'web';

/** Connection facts the status bar shows. */
export const connection = reactive<{ kind: TransportKind; socket: SocketState; detail: string }>({
  kind: 'web',
  socket: 'connecting',
  detail: '',
});

function preloadTransport(): ApiTransport | null {
  const candidate = (window as unknown as { chaoscope?: Partial<ApiTransport> }).chaoscope;
  if (candidate && typeof candidate.invoke === 'function' && typeof candidate.subscribe === 'function') {
    return candidate as ApiTransport;
  }
  return null;
}

function createApi(): ChaoscopeApi {
  const bridged = preloadTransport();
  if (bridged) {
    connection.kind = 'electron';
    // IPC has no socket to lose: the bridge is live as long as the window is.
    connection.socket = 'open';
    return createApiClient(bridged);
  }
  forgetTokenInUrl();
  const web = createWebTransport();
  web.onSocketState((state, detail) => {
    connection.socket = state;
    connection.detail = detail ?? '';
  });
  return createApiClient(web);
}

export const api: ChaoscopeApi = createApi();

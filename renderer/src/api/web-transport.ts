/**
 * Web mode: commands as `POST /api/v1/invoke/<name>`, events over the WebSocket `/api/v1/events`.
 * The access token travels only in the HttpOnly cookie the control plane sets when the tokenised
 * URL is first loaded; the page never reads or stores it (secrets never reach the renderer).
 */
import type { ApiTransport } from '../../../electron/api/index.ts';
import { API_VERSION } from '../../../electron/api/index.ts';

export type SocketState = 'connecting' | 'open' | 'closed';

export interface WebTransport extends ApiTransport {
  /** Told whenever the event socket opens, closes or retries. */
  onSocketState(listener: (state: SocketState, detail?: string) => void): () => void;
}

const BASE = `/api/v${API_VERSION}`;
/** Backoff for reconnecting the event socket: quick at first, then at most every 5 s. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000] as const;

export function createWebTransport(origin: string = window.location.origin): WebTransport {
  const stateListeners = new Set<(state: SocketState, detail?: string) => void>();
  const emitState = (state: SocketState, detail?: string) => {
    for (const listener of stateListeners) listener(state, detail);
  };

  return {
    async invoke(name, input) {
      const response = await fetch(`${origin}${BASE}/invoke/${encodeURIComponent(name)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(input ?? {}),
      });
      const text = await response.text();
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // Not an envelope (a proxy page, a crash): surface the status as the contract's error shape.
        return {
          ok: false,
          error: {
            code: response.status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE',
            message: `${name}: HTTP ${response.status} ${response.statusText}`.trim(),
          },
        };
      }
    },

    subscribe(listener) {
      let socket: WebSocket | null = null;
      let attempt = 0;
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wsOrigin = origin.replace(/^http/, 'ws');

      const connect = () => {
        emitState('connecting');
        socket = new WebSocket(`${wsOrigin}${BASE}/events`);
        socket.addEventListener('open', () => {
          attempt = 0;
          emitState('open');
        });
        socket.addEventListener('message', (message: MessageEvent) => {
          if (typeof message.data !== 'string') return;
          let parsed: unknown;
          try {
            parsed = JSON.parse(message.data);
          } catch {
            return;
          }
          listener(parsed);
        });
        socket.addEventListener('close', (event: CloseEvent) => {
          socket = null;
          if (stopped) return;
          const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 5_000;
          attempt += 1;
          emitState('closed', event.reason || `code ${event.code}`);
          timer = setTimeout(connect, delay);
        });
      };
      connect();
      return () => {
        stopped = true;
        clearTimeout(timer);
        socket?.close(1000, 'unsubscribed');
      };
    },

    onSocketState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
  };
}

/**
 * The tokenised URL (`/?token=…`) has done its job once the page has loaded (the cookie is set):
 * drop the token from the address bar and history so it is not bookmarked, shared or screenshotted.
 */
export function forgetTokenInUrl(): void {
  const url = new URL(window.location.href);
  if (!url.searchParams.has('token')) return;
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', url.toString());
}

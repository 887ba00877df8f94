/**
 * How the CLI reaches a control plane: over HTTP + WebSocket when one is running (found through
 * its 0600 state file), or in this very process (the foreground `up`, `serve`). Either way the
 * verbs talk to the same typed client.
 */
import { request } from 'undici';
import WebSocket from 'ws';
import {
  createApiClient,
  type ApiTransport,
  type ChaoscopeApi,
  type InvokeOptions,
} from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import { API_VERSION } from '../../api/version.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { ControlPaths } from '../paths.ts';
import { findRunningControlPlane, type ControlState } from '../state-file.ts';

export interface Connection {
  readonly api: ChaoscopeApi;
  /** The running control plane's record (null in process). */
  readonly state: ControlState | null;
  /** The dashboard URL with its token, or null without web mode. */
  readonly dashboard: string | null;
  /** Resolves once the event stream is open (so nothing published after it is missed). */
  eventsReady(): Promise<void>;
  close(): void;
}

export function dashboardUrl(url: string, token: string): string {
  return `${url}/?token=${encodeURIComponent(token)}`;
}

/** The running control plane of this home, or null when none runs. */
export async function connectToRunning(paths: ControlPaths): Promise<Connection | null> {
  const state = await findRunningControlPlane(paths);
  if (!state) return null;
  return remoteConnection(state);
}

export function remoteConnection(state: ControlState): Connection {
  const sockets = new Set<WebSocket>();
  let opened: Promise<void> = Promise.resolve();
  const transport: ApiTransport = {
    async invoke(name: string, input: unknown, options?: InvokeOptions) {
      let response;
      try {
        response = await request(`${state.url}/api/v${API_VERSION}/invoke/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
          // `up` may build and start for minutes: no timeouts but the caller's.
          headersTimeout: 0,
          bodyTimeout: 0,
          ...(options?.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        if (options?.signal?.aborted) throw new ApiError('ABORTED', 'interrupted');
        const code = (error as { code?: string }).code ?? (error as Error).message;
        throw new ApiError(
          'NO_CONTROL_PLANE',
          `the control plane at ${state.url} (pid ${state.pid}) does not answer (${code}); start one with \`chaoscope serve\``,
        );
      }
      const text = await response.body.text();
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ApiError(
          'INTERNAL',
          `the control plane answered ${response.statusCode} with something that is not JSON`,
        );
      }
    },
    subscribe(listener) {
      const ws = new WebSocket(`${state.url.replace(/^http/, 'ws')}/api/v${API_VERSION}/events`, {
        headers: { authorization: `Bearer ${state.token}` },
      });
      sockets.add(ws);
      opened = new Promise<void>((resolve) => {
        ws.once('open', () => resolve());
        ws.once('error', () => resolve());
        ws.once('close', () => resolve());
      });
      ws.on('error', () => undefined);
      ws.on('message', (data: WebSocket.RawData) => {
        try {
          listener(
            JSON.parse(
              Buffer.isBuffer(data)
                ? data.toString('utf8')
                : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'),
            ) as unknown,
          );
        } catch {
          // Not JSON: the client reports what does not match the contract; this cannot even be parsed.
        }
      });
      return () => {
        sockets.delete(ws);
        ws.close();
      };
    },
  };
  return {
    api: createApiClient(transport),
    state,
    dashboard: dashboardUrl(state.url, state.token),
    eventsReady: () => opened,
    close() {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
    },
  };
}

/** A control plane running in this process. */
export function localConnection(plane: ControlPlane): Connection {
  const transport: ApiTransport = {
    invoke: (name, input, options) =>
      plane.invoke(name, input, options?.signal ? { signal: options.signal } : {}),
    subscribe: (listener) => plane.subscribe(listener),
  };
  return {
    api: createApiClient(transport),
    state: null,
    dashboard: plane.url ? dashboardUrl(plane.url, plane.token) : null,
    eventsReady: () => Promise.resolve(),
    close: () => undefined,
  };
}

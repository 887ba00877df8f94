/**
 * IPC against a STAND-IN for the `electron` module: the preload's bridge → the stand-in's
 * ipcRenderer/ipcMain (which call handlers the way Electron does) → our handlers → a recording
 * backend in place of the control plane, to see exactly what reached it.
 */
import type { IpcMain, WebContents } from 'electron';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COMMAND_NAMES,
  createApiClient,
  isApiError,
  type EventBatch,
  type InvokeResult,
} from '../api/index.ts';
import { createBridge, type BridgeIpc } from '../preload/bridge.ts';
import { invokeChannel } from '../preload/channels.ts';
import {
  createElectronStandIn,
  StandInWebContents,
  type StandInFrame,
} from '../../test/support/electron-stand-in.ts';
import { registerIpc, type CommandBackend } from './ipc.ts';

function recordingBackend() {
  const calls: Array<{ name: string; input: unknown }> = [];
  const listeners = new Set<(batch: EventBatch) => void>();
  let subscribeCount = 0;
  let answer: (name: string, input: unknown) => Promise<InvokeResult> = async (name) =>
    name === 'faults.remove'
      ? { ok: true, value: { removed: true } }
      : { ok: false, error: { code: 'NO_CLUSTER', message: 'no cluster is running' } };
  const backend: CommandBackend = {
    invoke: (name, input) => {
      calls.push({ name, input });
      return answer(name, input);
    },
    subscribe: (listener) => {
      subscribeCount += 1;
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    backend,
    calls,
    listeners,
    subscribeCount: () => subscribeCount,
    answerWith: (fn: typeof answer) => (answer = fn),
    publish: (batch: EventBatch) => listeners.forEach((l) => l(batch)),
  };
}

const disposers: Array<() => void> = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

function setup() {
  const standIn = createElectronStandIn();
  const window = new standIn.BrowserWindow({});
  void window.loadURL('app://chaoscope/index.html');
  const recording = recordingBackend();
  const refusals: Array<{ channel: string; reason: string }> = [];
  const dispose = registerIpc(standIn.ipcMain as unknown as IpcMain, {
    backend: recording.backend,
    isOurContents: (contents) => contents === (window.webContents as unknown as WebContents),
    onRefused: (channel, reason) => refusals.push({ channel, reason }),
  });
  disposers.push(dispose);
  const ipcRenderer = standIn.ipcRendererFor(window.webContents);
  const bridge = createBridge(ipcRenderer as unknown as BridgeIpc);
  return { standIn, window, recording, refusals, ipcRenderer, bridge, api: createApiClient(bridge), dispose };
}

describe('IPC handlers (stand-in electron)', () => {
  it('register one handler per command of the contract, and remove them all on dispose', () => {
    const { standIn, dispose } = setup();
    expect([...standIn.ipcMain.handlers.keys()].sort()).toEqual(
      COMMAND_NAMES.map((n) => invokeChannel(n)).sort(),
    );
    dispose();
    expect(standIn.ipcMain.handlers.size).toBe(0);
  });

  it('carry a valid command from the page to the control plane, with defaults filled in', async () => {
    const { api, recording } = setup();
    await expect(api.faults.remove({ service: 'gateway', id: 'f-1' })).resolves.toEqual({ removed: true });
    expect(recording.calls).toEqual([{ name: 'faults.remove', input: { service: 'gateway', id: 'f-1' } }]);
    await expect(api.cluster.status()).rejects.toSatisfy((e) => isApiError(e, 'NO_CLUSTER'));
    expect(recording.calls.at(-1)).toEqual({ name: 'cluster.status', input: {} });
  });

  it.each([
    ['a wrong type', { service: 42 }, /service/],
    ['an unknown service', { service: 'mainframe' }, /service/],
    ['an unknown key (schemas are strict)', { service: 'gateway', evil: true }, /evil|unrecognized/i],
    ['a missing field', {}, /service/],
    ['not an object', 'gateway', /expected object/i],
    ['a bad signal name', { service: 'gateway', signal: 'rm -rf /' }, /signal/i],
    [
      'an object with a poisoned prototype key',
      JSON.parse('{"service":"gateway","__proto__":{"admin":true}}'),
      /__proto__|unrecognized/i,
    ],
  ])(
    'reject %s with BAD_REQUEST naming the problem, before the control plane sees it',
    async (_what, payload, detail) => {
      const { ipcRenderer, recording, refusals } = setup();
      const answer = (await ipcRenderer.invoke(invokeChannel('service.kill'), payload)) as InvokeResult;
      expect(answer.ok).toBe(false);
      if (answer.ok) return;
      expect(answer.error.code).toBe('BAD_REQUEST');
      expect(answer.error.message).toMatch(/^invalid input for service\.kill: /);
      expect([answer.error.message, ...(answer.error.details ?? [])].join('\n')).toMatch(detail);
      expect(recording.calls).toEqual([]);
      expect(refusals).toHaveLength(1);
    },
  );

  it('reject more than one argument', async () => {
    const { ipcRenderer, recording } = setup();
    const answer = (await ipcRenderer.invoke(
      invokeChannel('cluster.status'),
      {},
      { extra: 1 },
    )) as InvokeResult;
    expect(answer).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(recording.calls).toEqual([]);
  });

  it('have no handler for a name outside the contract (the bridge answers NOT_FOUND)', async () => {
    const { ipcRenderer, bridge } = setup();
    await expect(ipcRenderer.invoke('chaoscope:invoke:system.exec', {})).rejects.toThrow(
      /No handler registered/,
    );
    await expect(bridge.invoke('system.exec', {})).resolves.toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no command "system.exec"' },
    });
    await expect(bridge.invoke('../../etc', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  describe('check the sender frame', () => {
    const refusedFrom = async (
      sender: { contents: StandInWebContents; frame: StandInFrame | null },
      reason: RegExp,
    ) => {
      const { standIn, recording } = setup();
      const answer = (await standIn.ipcMain.invokeFrom(
        sender,
        invokeChannel('cluster.down'),
        {},
      )) as InvokeResult;
      expect(answer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      if (!answer.ok) expect(answer.error.message).toMatch(reason);
      expect(recording.calls).toEqual([]);
    };

    it('refuses a subframe of our own window', async () => {
      const { window } = setup();
      const frame = { url: 'app://chaoscope/index.html', parent: window.webContents.mainFrame };
      await refusedFrom({ contents: window.webContents, frame }, /subframe/);
    });

    it('refuses a page that is not ours (navigated elsewhere)', async () => {
      const { window } = setup();
      await refusedFrom(
        { contents: window.webContents, frame: { url: 'https://evil.example/', parent: null } },
        /outside the app/,
      );
      await refusedFrom(
        { contents: window.webContents, frame: { url: 'app://elsewhere/', parent: null } },
        /outside the app/,
      );
      await refusedFrom(
        { contents: window.webContents, frame: { url: 'file:///tmp/x.html', parent: null } },
        /outside the app/,
      );
    });

    it('refuses a frame that is gone', async () => {
      const { window } = setup();
      await refusedFrom({ contents: window.webContents, frame: null }, /gone/);
    });

    it('refuses another web contents showing our origin (not one of our windows)', async () => {
      const stranger = new StandInWebContents();
      stranger.mainFrame.url = 'app://chaoscope/index.html';
      await refusedFrom({ contents: stranger, frame: stranger.mainFrame }, /not a window of this app/);
    });
  });

  it('turn a control-plane crash into INTERNAL without its stack', async () => {
    const { api, recording } = setup();
    recording.answerWith(async () => {
      throw new Error('boom\n    at secret (/home/user/x.ts:1:1)');
    });
    const error: unknown = await api.faults.remove({ service: 'gateway', id: 'x' }).catch((e: unknown) => e);
    expect(isApiError(error, 'INTERNAL')).toBe(true);
    expect((error as Error).message).toBe('boom');
  });
});

describe('events over IPC (stand-in electron)', () => {
  const batch = (seq: number): EventBatch => ({
    seq,
    at: new Date().toISOString(),
    events: [
      { topic: 'control.notice', data: { level: 'info', message: `n${seq}`, at: new Date().toISOString() } },
    ],
    dropped: 0,
  });

  it('subscribe the page when it listens, deliver batches, and stop when it stops listening', async () => {
    const { api, recording } = setup();
    const seen: string[] = [];
    const off = api.on('control.notice', (n) => seen.push(n.message));
    expect(recording.subscribeCount()).toBe(1);
    recording.publish(batch(1));
    recording.publish(batch(2));
    expect(seen).toEqual(['n1', 'n2']);
    off();
    expect(recording.listeners.size).toBe(0);
    recording.publish(batch(3));
    expect(seen).toEqual(['n1', 'n2']);
  });

  it('end the subscription when the page reloads or its window is destroyed', () => {
    const { bridge, recording, window } = setup();
    bridge.subscribe(() => {});
    expect(recording.listeners.size).toBe(1);
    window.webContents.attemptNavigation('app://chaoscope/index.html');
    expect(recording.listeners.size).toBe(0);
    // The reloaded page subscribes again (and gets a fresh state replay from the control plane).
    const second = setup();
    second.bridge.subscribe(() => {});
    second.window.close();
    expect(second.recording.listeners.size).toBe(0);
  });

  it('refuse a subscription from a page that is not ours', () => {
    const { standIn, recording, refusals } = setup();
    const stranger = new StandInWebContents();
    stranger.mainFrame.url = 'https://evil.example/';
    standIn.ipcMain.sendFrom({ contents: stranger, frame: stranger.mainFrame }, 'chaoscope:events:subscribe');
    expect(recording.subscribeCount()).toBe(0);
    expect(refusals[0]?.reason).toMatch(/outside the app/);
  });
});

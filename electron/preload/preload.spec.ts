/**
 * The preload against a STAND-IN for the `electron` module: what the page gets as
 * `window.chaoscope`, and that nothing else (no ipcRenderer, no channel names) leaks through.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { API_VERSION } from '../api/version.ts';
import { createElectronStandIn, StandInWebContents } from '../../test/support/electron-stand-in.ts';
import type { ChaoscopeBridge } from './bridge.ts';

const standIn = createElectronStandIn();
const contents = new StandInWebContents();
contents.mainFrame.url = 'app://chaoscope/index.html';
const ipcRenderer = standIn.ipcRendererFor(contents);

vi.mock('electron', () => ({ contextBridge: standIn.contextBridge, ipcRenderer }));

beforeAll(async () => {
  await import('./preload.ts');
});

describe('the preload (stand-in electron)', () => {
  it('exposes exactly one thing, window.chaoscope, with the transport and its version', () => {
    expect([...standIn.contextBridge.exposed.keys()]).toEqual(['chaoscope']);
    const bridge = standIn.contextBridge.exposed.get('chaoscope') as ChaoscopeBridge;
    expect(Object.keys(bridge).sort()).toEqual(['apiVersion', 'invoke', 'subscribe', 'transport']);
    expect(bridge.apiVersion).toBe(API_VERSION);
    expect(bridge.transport).toBe('ipc');
    // Nothing of Electron's own objects rides along.
    for (const value of Object.values(bridge) as unknown[]) {
      expect(value).not.toBe(ipcRenderer);
      if (typeof value === 'function') expect(Object.keys(value as object)).toEqual([]);
    }
  });

  it('sends only contract-shaped command names, each on its own channel', async () => {
    const bridge = standIn.contextBridge.exposed.get('chaoscope') as ChaoscopeBridge;
    const seen: string[] = [];
    standIn.ipcMain.handle('chaoscope:invoke:cluster.status', (_event, input) => {
      seen.push(JSON.stringify(input));
      return { ok: true, value: 'answered' };
    });
    await expect(bridge.invoke('cluster.status', {})).resolves.toEqual({ ok: true, value: 'answered' });
    expect(seen).toEqual(['{}']);
    for (const name of ['events:subscribe', 'invoke:cluster.status', '', 'a.b.c', 'cluster.status\n']) {
      await expect(bridge.invoke(name, {})).resolves.toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
    }
    await expect(bridge.invoke(42 as unknown as string, {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('asks main for events on the first listener only, and says stop after the last one leaves', () => {
    const bridge = standIn.contextBridge.exposed.get('chaoscope') as ChaoscopeBridge;
    const messages: string[] = [];
    standIn.ipcMain.on('chaoscope:events:subscribe', () => messages.push('subscribe'));
    standIn.ipcMain.on('chaoscope:events:unsubscribe', () => messages.push('unsubscribe'));
    const a: unknown[] = [];
    const b: unknown[] = [];
    const offA = bridge.subscribe((batch) => a.push(batch));
    const offB = bridge.subscribe((batch) => b.push(batch));
    expect(messages).toEqual(['subscribe']);
    contents.send('chaoscope:events', { seq: 1 });
    expect(a).toEqual([{ seq: 1 }]);
    expect(b).toEqual([{ seq: 1 }]);
    offA();
    offA();
    contents.send('chaoscope:events', { seq: 2 });
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(2);
    offB();
    expect(messages).toEqual(['subscribe', 'unsubscribe']);
    expect(ipcRenderer.listenerCount('chaoscope:events')).toBe(0);
    expect(() => bridge.subscribe('not a function' as unknown as () => void)).toThrow(/listener function/);
  });

  it('keeps delivering to other listeners when one throws', () => {
    const bridge = standIn.contextBridge.exposed.get('chaoscope') as ChaoscopeBridge;
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const got: unknown[] = [];
    const offBad = bridge.subscribe(() => {
      throw new Error('view bug');
    });
    const offGood = bridge.subscribe((batch) => got.push(batch));
    contents.send('chaoscope:events', { seq: 3 });
    expect(got).toEqual([{ seq: 3 }]);
    expect(quiet).toHaveBeenCalledOnce();
    offBad();
    offGood();
    quiet.mockRestore();
  });
});

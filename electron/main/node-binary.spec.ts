import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNodeBinary, isRecentEnough } from './node-binary.ts';

let base: string;
const exe = async (path: string) => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '#!/bin/sh\n');
  await chmod(path, 0o755);
  return path;
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'chaoscope-node-binary-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('the Node binary for the services', () => {
  it('is the running Node outside Electron', () => {
    expect(findNodeBinary({ inElectron: false, execPath: '/usr/bin/node-x' })).toEqual({
      ok: true,
      path: '/usr/bin/node-x',
    });
  });

  it('inside Electron: CHAOSCOPE_NODE first, then the project’s own Node, then PATH — each new enough', async () => {
    const own = await exe(join(base, 'root', 'node_modules', 'node', 'bin', 'node'));
    const chosen = await exe(join(base, 'chosen', 'node'));
    const onPath = await exe(join(base, 'path', 'node'));
    const versions: Record<string, string> = { [own]: '22.23.3', [chosen]: '24.1.0', [onPath]: '22.20.0' };
    const lookup = {
      inElectron: true,
      root: join(base, 'root'),
      versionOf: (p: string) => versions[p] ?? null,
    };
    expect(findNodeBinary({ ...lookup, env: { CHAOSCOPE_NODE: chosen, PATH: join(base, 'path') } })).toEqual({
      ok: true,
      path: chosen,
    });
    expect(findNodeBinary({ ...lookup, env: { PATH: join(base, 'path') } })).toEqual({ ok: true, path: own });
    versions[own] = '20.11.0';
    expect(findNodeBinary({ ...lookup, env: { PATH: join(base, 'path') } })).toEqual({
      ok: true,
      path: onPath,
    });
  });

  it('says what it tried when nothing fits', async () => {
    const old = await exe(join(base, 'old', 'node'));
    const result = findNodeBinary({
      inElectron: true,
      root: join(base, 'nothing-here'),
      env: { PATH: join(base, 'old'), CHAOSCOPE_NODE: join(base, 'missing') },
      versionOf: () => '20.19.0',
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain(`${old} is Node 20.19.0`);
      expect(result.reason).toContain('(CHAOSCOPE_NODE) is not an executable file');
      expect(result.reason).toMatch(/set CHAOSCOPE_NODE/);
    }
  });

  it('reads the project’s real Node version', () => {
    const result = findNodeBinary({ inElectron: true, env: { PATH: '' } });
    expect(result).toMatchObject({ ok: true, path: expect.stringMatching(/node_modules\/node\/bin\/node$/) });
    expect(isRecentEnough('v22.18.0')).toBe(true);
    expect(isRecentEnough('22.17.9')).toBe(false);
    expect(isRecentEnough('23.0.0')).toBe(true);
  });
});

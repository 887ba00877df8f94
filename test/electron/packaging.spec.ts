/**
 * electron-builder.yml against the packaging checklist: the four targets, native modules unpacked,
 * every hardening fuse flipped, and an entry point that is the bundle scripts/build-electron.ts
 * writes (the file the packaged app would start from).
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAIN_BUNDLE, PRELOAD_BUNDLE } from '../../scripts/build-electron.ts';
import { ROOT } from '../../scripts/start.ts';

interface BuilderConfig {
  extraMetadata?: { main?: string };
  files?: string[];
  asar?: boolean;
  asarUnpack?: string[];
  electronFuses?: Record<string, boolean>;
  linux?: { target?: string[] };
  mac?: { target?: string[] };
  win?: { target?: string[] };
}

let config: BuilderConfig;
beforeAll(async () => {
  config = parse(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
});

describe('electron-builder.yml', () => {
  it('builds AppImage and deb, dmg, and NSIS', () => {
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
    expect(config.mac?.target).toEqual(['dmg']);
    expect(config.win?.target).toEqual(['nsis']);
  });

  it('flips every hardening fuse', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('packs into an asar with the native modules (DuckDB, esbuild) unpacked', () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining(['node_modules/@duckdb/**', 'node_modules/esbuild/**']),
    );
  });

  it('starts from the shell bundle, and ships it, its preload and the dashboard', () => {
    expect(config.extraMetadata?.main).toBe(relative(ROOT, MAIN_BUNDLE).split('\\').join('/'));
    expect(relative(ROOT, PRELOAD_BUNDLE).startsWith('electron/')).toBe(true);
    expect(config.files).toEqual(
      expect.arrayContaining(['electron/**', 'renderer/dist/**', '!**/*.spec.ts']),
    );
  });
});

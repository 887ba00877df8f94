/**
 * Which Node binary runs the services of the process runtime when the control plane lives inside
 * Electron. There `process.execPath` is the Electron binary, and packaged builds flip the RunAsNode
 * fuse off (so it cannot act as Node), so the services need a real Node 22.18+:
 *   1. CHAOSCOPE_NODE, when set;
 *   2. the project's own Node (the `node` devDependency, node_modules/node/bin/node);
 *   3. `node` on PATH, if it is new enough.
 * Outside Electron the running Node is the answer.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MINIMUM: readonly [number, number] = [22, 18];

export interface NodeBinaryLookup {
  readonly env?: NodeJS.ProcessEnv;
  readonly inElectron?: boolean;
  readonly execPath?: string;
  /** The repository (or unpacked app) root whose node_modules may hold the `node` package. */
  readonly root?: string;
  /** How a candidate's version is read (tests give a table). */
  readonly versionOf?: (path: string) => string | null;
}

export type NodeBinary =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

const DEFAULT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function findNodeBinary(lookup: NodeBinaryLookup = {}): NodeBinary {
  const env = lookup.env ?? process.env;
  const inElectron = lookup.inElectron ?? process.versions.electron !== undefined;
  if (!inElectron) return { ok: true, path: lookup.execPath ?? process.execPath };
  const versionOf = lookup.versionOf ?? readVersion;
  const tried: string[] = [];
  const candidates = [
    ...(env.CHAOSCOPE_NODE ? [env.CHAOSCOPE_NODE] : []),
    join(
      lookup.root ?? DEFAULT_ROOT,
      'node_modules',
      'node',
      'bin',
      process.platform === 'win32' ? 'node.exe' : 'node',
    ),
    ...onPath(env, process.platform === 'win32' ? 'node.exe' : 'node'),
  ];
  for (const candidate of candidates) {
    if (!isExecutable(candidate)) {
      if (candidate === env.CHAOSCOPE_NODE)
        tried.push(`${candidate} (CHAOSCOPE_NODE) is not an executable file`);
      continue;
    }
    const version = versionOf(candidate);
    if (version && isRecentEnough(version)) return { ok: true, path: candidate };
    tried.push(`${candidate} is Node ${version ?? '(unknown version)'}`);
  }
  return {
    ok: false,
    reason:
      `the services need Node ${MINIMUM.join('.')} or newer and none was found` +
      (tried.length > 0 ? ` (${tried.join('; ')})` : '') +
      '; install it or set CHAOSCOPE_NODE to its path',
  };
}

export function isRecentEnough(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

function readVersion(path: string): string | null {
  const result = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? result.stdout.trim() : null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name));
}

/**
 * One control plane per user and home, and how the CLI finds it.
 *
 * - The lock file is created with O_EXCL and holds the owner's pid; a lock whose pid is dead (a
 *   control plane killed with SIGKILL) is taken over.
 * - The state file (mode 0600, written atomically) says where the control plane listens and its
 *   access token. It is removed on a clean exit; the CLI treats one whose pid is dead as absent.
 */
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ApiError } from '../api/errors.ts';
import type { ControlPaths } from './paths.ts';

export const CONTROL_MODES = ['serve', 'daemon', 'foreground', 'app'] as const;
export type ControlMode = (typeof CONTROL_MODES)[number];

export const controlStateSchema = z.object({
  pid: z.number().int().positive(),
  /** Base URL of web mode, e.g. http://127.0.0.1:7788. */
  url: z.url(),
  /** The per-run access token (32 random bytes, base64url). */
  token: z.string().min(32),
  startedAt: z.string(),
  /** The app's version (package.json). */
  version: z.string(),
  apiVersion: z.number().int(),
  /** How it was started: `daemon` ones (from `up --detach`) stop with `down`. */
  mode: z.enum(CONTROL_MODES),
});
export type ControlState = z.infer<typeof controlStateSchema>;

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (dead, not yet reaped: a daemon's parent is often a container's init that never
  // reaps) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Alive and (on Linux, where we can tell) a Node process, so a recycled pid is not mistaken for us. */
function isControlPlanePid(pid: number): boolean {
  if (!isPidAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|chaoscope|electron/i.test(cmdline);
  } catch {
    return true;
  }
}

export class InstanceLock {
  readonly #paths: ControlPaths;
  #held = false;

  constructor(paths: ControlPaths) {
    this.#paths = paths;
  }

  /** Take the lock, or fail with CONFLICT naming the running control plane. */
  async acquire(): Promise<void> {
    await mkdir(this.#paths.controlDir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(this.#paths.lockFile, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        this.#held = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number((await readFile(this.#paths.lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || isControlPlanePid(owner))) {
        const state = await readControlState(this.#paths);
        throw new ApiError(
          'CONFLICT',
          `a control plane is already running for ${this.#paths.home} (pid ${owner}${state ? `, ${state.url}` : ''}); use it, or stop it first`,
        );
      }
      // Dead owner (or an empty file from a crash mid-write): take it over.
      await rm(this.#paths.lockFile, { force: true });
    }
    throw new ApiError('CONFLICT', `could not take the control-plane lock ${this.#paths.lockFile}`);
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await rm(this.#paths.lockFile, { force: true });
  }
}

export async function writeControlState(paths: ControlPaths, state: ControlState): Promise<void> {
  await mkdir(paths.controlDir, { recursive: true, mode: 0o700 });
  const temp = `${paths.stateFile}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, paths.stateFile);
}

export async function removeControlState(paths: ControlPaths): Promise<void> {
  await rm(paths.stateFile, { force: true });
}

/** The recorded state, or null when there is none or it is unreadable. Does not check the pid. */
export async function readControlState(paths: ControlPaths): Promise<ControlState | null> {
  let text: string;
  try {
    text = await readFile(paths.stateFile, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = controlStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The state of a control plane whose process is alive; null when none runs (a stale file is ignored). */
export async function findRunningControlPlane(paths: ControlPaths): Promise<ControlState | null> {
  const state = await readControlState(paths);
  if (!state || !isControlPlanePid(state.pid)) return null;
  return state;
}

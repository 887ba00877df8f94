/**
 * Acting on the operating system's processes safely. A pid in the state file may by now belong to
 * an unrelated process (the service died and the number was reused), so before we call a recorded
 * pid ours we check the process really runs the service's entry and carries the instance's
 * identity in its environment; only then is it signalled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessIdentity {
  readonly pid: number;
  /** Absolute path of the entry module; must appear on the command line. */
  readonly entryPath: string;
  /** Variables that must be in the process's initial environment (Linux only; elsewhere unchecked). */
  readonly env: Readonly<Record<string, string>>;
}

const HAS_PROCFS = existsSync('/proc/self/cmdline');

/** Alive and still the process we started (not a zombie, not a reused pid). */
export function isOurProcess(identity: ProcessIdentity): boolean {
  if (!pidExists(identity.pid)) return false;
  if (HAS_PROCFS) {
    const cmdline = readProc(identity.pid, 'cmdline');
    // A zombie has an empty command line: it is dead, only not yet reaped.
    if (!cmdline || !cmdline.split('\0').includes(identity.entryPath)) return false;
    const environ = readProc(identity.pid, 'environ');
    if (environ === null) return true;
    const vars = new Set(environ.split('\0'));
    return Object.entries(identity.env).every(([name, value]) => vars.has(`${name}=${value}`));
  }
  try {
    const command = execFileSync('ps', ['-o', 'command=', '-p', String(identity.pid)], { encoding: 'utf8' });
    return command.includes(identity.entryPath);
  } catch {
    return false;
  }
}

function readProc(pid: number, file: 'cmdline' | 'environ'): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  // 0 and negatives address process groups (0 is our own): never a recorded service.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: something lives there, but not ours to signal, so not our service.
    return false;
  }
}

/**
 * Signal the instance's whole process group (it was spawned detached, so it leads one), which also
 * reaches anything the service itself spawned; falls back to the pid alone.
 */
export function signalProcess(identity: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!isOurProcess(identity)) return false;
  try {
    process.kill(-identity.pid, signal);
    return true;
  } catch {
    try {
      process.kill(identity.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Resolves true once the process is gone, false when it still runs after `timeoutMs`. */
export async function waitForExit(
  identity: ProcessIdentity,
  timeoutMs: number,
  pollMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isOurProcess(identity)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves with how it ended. */
export async function stopProcess(
  identity: ProcessIdentity,
  graceMs: number,
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!signalProcess(identity, 'SIGTERM')) return 'not-running';
  if (await waitForExit(identity, graceMs)) return 'terminated';
  signalProcess(identity, 'SIGKILL');
  await waitForExit(identity, 5_000);
  return 'killed';
}

/**
 * The process cluster's record on disk: what was started, where, with which pid and environment.
 * It is the only link between a CLI invocation and the processes an earlier one started, so it is
 * written atomically (a reader sees the old file or the new one, never half) and, since it holds the
 * admin token and every service's environment, readable by the user alone (0600).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { SERVICE_NAMES } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';

const isoDate = z.iso.datetime();

export const instanceRecordSchema = z.object({
  id: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Process of the current (or last) incarnation; null before the first launch. */
  pid: z.number().int().positive().nullable(),
  startedAt: isoDate.nullable(),
  /** First readiness of the current incarnation; null while starting. */
  readyAt: isoDate.nullable(),
  /** stopped: taken down on purpose (or never started), so its absence is not a failure. */
  desired: z.enum(['running', 'stopped']),
  /** Set by `kill` so a dead process shows as killed rather than exited; cleared on start. */
  killed: z.object({ signal: z.string(), at: isoDate }).nullable(),
  /** Only when this runtime was the parent and saw the exit. */
  exit: z
    .object({ code: z.number().int().nullable(), signal: z.string().nullable(), at: isoDate })
    .nullable(),
  /** The exact environment the process was given. */
  env: z.record(z.string(), z.string()),
});
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

export const serviceRecordSchema = z.object({
  name: z.enum(SERVICE_NAMES),
  /** Relative to repoRoot. Kept here so later commands need no spec to respawn or identify it. */
  entry: z.string().min(1),
  /** Absolute path of what was last spawned (the bundle): how its processes are recognised. */
  launchPath: z.string().min(1).optional(),
  dependsOn: z.array(z.enum(SERVICE_NAMES)),
  instances: z.array(instanceRecordSchema),
});
export type ServiceRecord = z.infer<typeof serviceRecordSchema>;

export const clusterStateSchema = z.object({
  version: z.literal(1),
  runtime: z.literal('process'),
  clusterId: z.string().min(1),
  createdAt: isoDate,
  adminToken: z.string().min(16),
  repoRoot: z.string().min(1),
  gatewayPort: z.number().int().min(1).max(65535),
  registryPort: z.number().int().min(1).max(65535),
  /** In start order. */
  services: z.array(serviceRecordSchema),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

/** null when there is no state file (no cluster). */
export async function readState(file: string): Promise<ClusterState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw corrupt(file, error instanceof Error ? error.message : String(error));
  }
  const result = clusterStateSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    throw corrupt(file, first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid');
  }
  return result.data;
}

function corrupt(file: string, why: string): RuntimeError {
  return new RuntimeError(
    'STATE_CORRUPT',
    `the cluster state file ${file} is unreadable (${why}); stop any services by hand and remove it`,
  );
}

/** Write to a private temp file beside the target, flush, then rename over it. */
export async function writeStateAtomically(file: string, state: ClusterState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    // The umask can only remove bits, but a pre-set ACL or odd umask must not widen them either.
    await handle.chmod(0o600);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * A lock over read-modify-write of the state file, shared by every process that acts on the
 * cluster (the foreground `up`, a `kill` from another terminal). In-process callers queue on a
 * promise chain; across processes a lock file made with O_EXCL holds the owner's pid, and a lock
 * whose owner is gone is taken over.
 */
export class StateLock {
  readonly #file: string;
  readonly #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: string, timeoutMs = 15_000) {
    this.#file = file;
    this.#timeoutMs = timeoutMs;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => {
      await this.#acquire();
      try {
        return await fn();
      } finally {
        await unlink(this.#file).catch(() => undefined);
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #acquire(): Promise<void> {
    await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      try {
        const handle = await open(this.#file, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number.parseInt(await readFile(this.#file, 'utf8').catch(() => ''), 10);
      const ownerGone =
        Number.isInteger(owner) && owner > 0
          ? owner !== process.pid && !pidExists(owner)
          : await olderThan(this.#file, 5_000);
      if (ownerGone) {
        await unlink(this.#file).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for the cluster state lock ${this.#file} (held by pid ${owner || '?'})`,
        );
      }
      await sleep(25);
    }
  }
}

/** A lock file without a pid belongs to a process that died between creating and writing it. */
async function olderThan(file: string, ms: number): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs > ms;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What the engine cannot tell us about our own chaos, kept on disk so another command (or a
 * restarted control plane) knows it too: that a container is down because we killed or stopped it
 * (not a crash), and which faults are in force with their end time, so they are rolled back even
 * when the process that set them died. Labels cannot do this: Docker cannot relabel a container.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { SERVICE_NAMES } from '../../cluster.ts';
import { RuntimeError } from '../errors.ts';
import { StateLock } from '../process/state.ts';

const isoDate = z.iso.datetime();

const markSchema = z.object({
  kind: z.enum(['killed', 'stopped']),
  signal: z.string().optional(),
  at: isoDate,
  /** The engine's StartedAt of the incarnation it ended (engine clock, so no skew matters). */
  incarnation: z.string(),
});
export type DownMark = z.infer<typeof markSchema>;

export const FAULT_KINDS = ['pause', 'partition', 'limits'] as const;
export type ContainerFaultKind = (typeof FAULT_KINDS)[number];

const faultSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(FAULT_KINDS),
  service: z.enum(SERVICE_NAMES),
  instanceId: z.string().min(1),
  containerId: z.string().min(1),
  since: isoDate,
  /** null: until someone undoes it (or `down`, or reset). */
  until: isoDate.nullable(),
  /** limits: what to restore. */
  previous: z.object({ memoryBytes: z.number().int().min(0), nanoCpus: z.number().int().min(0) }).optional(),
});
export type ContainerFault = z.infer<typeof faultSchema>;

const recordSchema = z.object({
  version: z.literal(1),
  clusterId: z.string().min(1),
  /** By container id: valid for the incarnation that started before `at`. */
  marks: z.record(z.string(), markSchema),
  faults: z.array(faultSchema),
});
export type ChaosRecord = z.infer<typeof recordSchema>;

export class ChaosRecordFile {
  readonly #file: string;
  readonly #lock: StateLock;

  constructor(file: string) {
    this.#file = file;
    this.#lock = new StateLock(`${file}.lock`);
  }

  async read(clusterId: string): Promise<ChaosRecord> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty(clusterId);
      throw error;
    }
    const parsed = recordSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new RuntimeError(
        'STATE_CORRUPT',
        `the chaos record ${this.#file} is unreadable (${parsed.error.issues[0]?.message ?? 'invalid'}); remove it`,
      );
    // A record of another cluster (this home made a new one since) says nothing about this one.
    return parsed.data.clusterId === clusterId ? parsed.data : empty(clusterId);
  }

  /** Read-modify-write under a lock shared with every other process acting on this home. */
  async update<T>(clusterId: string, change: (record: ChaosRecord) => T | Promise<T>): Promise<T> {
    return this.#lock.run(async () => {
      const record = await this.read(clusterId);
      const result = await change(record);
      await this.#write(record);
      return result;
    });
  }

  async remove(): Promise<void> {
    await this.#lock.run(() => rm(this.#file, { force: true }));
  }

  async #write(record: ChaosRecord): Promise<void> {
    await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
    const tmp = `${this.#file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.#file).catch(async (error: unknown) => {
      await unlink(tmp).catch(() => undefined);
      throw error;
    });
  }
}

function empty(clusterId: string): ChaosRecord {
  return { version: 1, clusterId, marks: {}, faults: [] };
}

/** A mark counts only for the incarnation that was running when it was made, not a later start. */
export function markApplies(mark: DownMark | undefined, startedAt: string | undefined): DownMark | undefined {
  return mark && mark.incarnation === (startedAt ?? '') ? mark : undefined;
}

export function newFaultId(): string {
  return randomBytes(6).toString('hex');
}

import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  addressSchema,
  instanceIdSchema,
  MAX_TTL_SECONDS,
  metaSchema,
  MIN_TTL_SECONDS,
  serviceNameSchema,
} from '../../kit/registry-protocol.ts';
import type { InstanceRecord } from './instance-store.ts';

export const SNAPSHOT_FILE = 'registry-snapshot.json';

const recordSchema = z.object({
  id: instanceIdSchema,
  service: serviceNameSchema,
  address: addressSchema,
  meta: metaSchema,
  registeredAt: z.number().int().nonnegative(),
  lastHeartbeat: z.number().int().nonnegative(),
  ttlSeconds: z.number().min(MIN_TTL_SECONDS).max(MAX_TTL_SECONDS),
});

const snapshotSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  instances: z.array(recordSchema),
});

/**
 * Read the snapshot a previous run left. A missing file is a first start; an unreadable one is
 * logged and ignored: instances re-register within one heartbeat, so starting empty is safe.
 */
export function loadSnapshot(path: string, log: Logger): InstanceRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    log.warn({ err: error, path }, 'registry snapshot unreadable; starting empty');
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    log.warn({ err: error, path }, 'registry snapshot is not JSON; starting empty');
    return [];
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) {
    log.warn(
      { path, issues: parsed.error.issues.slice(0, 5) },
      'registry snapshot has an unexpected shape; starting empty',
    );
    return [];
  }
  return parsed.data.instances;
}

/**
 * Keeps the snapshot on disk in step with membership changes. Writes are debounced (a burst of
 * registrations at cluster start is one write), serialized, and atomic (tmp file, fsync, rename),
 * so a registry killed mid-write leaves the previous snapshot intact.
 */
export class SnapshotWriter {
  readonly #path: string;
  readonly #records: () => InstanceRecord[];
  readonly #log: Logger;
  readonly #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: { path: string; records: () => InstanceRecord[]; log: Logger; debounceMs?: number }) {
    this.#path = options.path;
    this.#records = options.records;
    this.#log = options.log;
    this.#debounceMs = options.debounceMs ?? 200;
    mkdirSync(dirname(this.#path), { recursive: true });
  }

  schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#debounceMs);
  }

  /** Write the current state now (after any write in progress). Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#chain = this.#chain.then(
      () => this.#write(),
      () => this.#write(),
    );
    return this.#chain.catch((error: unknown) =>
      this.#log.error({ err: error, path: this.#path }, 'writing the registry snapshot failed'),
    );
  }

  /** Final write; later schedule() calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return this.#chain.catch(() => undefined);
    const pending = this.#timer !== undefined;
    this.#closed = true;
    if (pending) await this.flush();
    else await this.#chain.catch(() => undefined);
  }

  async #write(): Promise<void> {
    const body = JSON.stringify({
      version: 1,
      savedAt: new Date().toISOString(),
      instances: this.#records(),
    });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    try {
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(body, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.#path);
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw error;
    }
  }
}

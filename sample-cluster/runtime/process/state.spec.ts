import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../errors.ts';
import { StateLock, readState, writeStateAtomically, type ClusterState } from './state.ts';

function sampleState(clusterId = 'abc123'): ClusterState {
  return {
    version: 1,
    runtime: 'process',
    clusterId,
    createdAt: new Date().toISOString(),
    adminToken: 'x'.repeat(43),
    repoRoot: '/repo',
    gatewayPort: 8080,
    registryPort: 40000,
    services: [
      {
        name: 'registry',
        entry: 'sample-cluster/services/registry/main.ts',
        dependsOn: [],
        instances: [
          {
            id: 'registry-1',
            port: 40000,
            pid: 1234,
            startedAt: new Date().toISOString(),
            readyAt: null,
            desired: 'running',
            killed: null,
            exit: null,
            env: { PORT: '40000', ADMIN_TOKEN: 'x'.repeat(43) },
          },
        ],
      },
    ],
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cs-state-spec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state file', () => {
  it('is readable by its owner only (0600), also when it replaces a wider file', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, '{}');
    await chmod(file, 0o644);
    const state = sampleState();
    await writeStateAtomically(file, state);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readState(file)).toEqual(state);
  });

  it('is replaced atomically: a reader never sees a partial file, and no temp file is left', async () => {
    const file = join(dir, 'state.json');
    await writeStateAtomically(file, sampleState('c0'));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const state = await readState(file);
        expect(state?.clusterId).toMatch(/^c\d+$/);
        reads++;
      }
    })();
    for (let i = 1; i <= 150; i++) {
      const big = sampleState(`c${i}`);
      // Large enough that a non-atomic write would be observed half-done.
      big.services[0]!.instances[0]!.env.PADDING = 'p'.repeat(64 * 1024);
      await writeStateAtomically(file, big);
    }
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect((await readState(file))?.clusterId).toBe('c150');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('reads a missing file as "no cluster"', async () => {
    expect(await readState(join(dir, 'nothing.json'))).toBeNull();
  });

  it('rejects a damaged file with a message naming it', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, '{"version": 1, "clusterId": ');
    const error = await readState(file).catch((e: unknown) => e);
    expect(isRuntimeError(error, 'STATE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(file);

    await writeFile(file, JSON.stringify({ ...sampleState(), adminToken: 'short' }));
    const invalid = await readState(file).catch((e: unknown) => e);
    expect(isRuntimeError(invalid, 'STATE_CORRUPT')).toBe(true);
    expect((invalid as Error).message).toContain('adminToken');
  });
});

describe('StateLock', () => {
  it('serialises read-modify-write so no update is lost', async () => {
    const file = join(dir, 'counter.json');
    await writeFile(file, '0');
    const lock = new StateLock(join(dir, 'state.lock'));
    const { readFile } = await import('node:fs/promises');
    await Promise.all(
      Array.from({ length: 40 }, () =>
        lock.run(async () => {
          const n = Number(await readFile(file, 'utf8'));
          await new Promise((r) => setImmediate(r));
          await writeFile(file, String(n + 1));
        }),
      ),
    );
    expect(await readFile(file, 'utf8')).toBe('40');
    expect(await readdir(dir)).toEqual(['counter.json']);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const lockFile = join(dir, 'state.lock');
    await writeFile(lockFile, dead.stdout);
    const lock = new StateLock(lockFile, 2_000);
    await expect(lock.run(async () => 'acquired')).resolves.toBe('acquired');
  });

  it('waits for a live owner and then gives up with a clear error', async () => {
    const lockFile = join(dir, 'state.lock');
    // pid 1 is always alive and never ours.
    await writeFile(lockFile, '1');
    const lock = new StateLock(lockFile, 200);
    await expect(lock.run(async () => 'acquired')).rejects.toThrow(
      /timed out waiting for the cluster state lock/,
    );
  });

  it('keeps working after a failed critical section', async () => {
    const lock = new StateLock(join(dir, 'state.lock'));
    await expect(lock.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run(async () => 'next')).resolves.toBe('next');
  });
});

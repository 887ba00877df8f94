/**
 * The chaos engine against a real cluster on the process runtime: every fault it applies is seen
 * in the services, and every one is gone afterwards — on expiry, on reset, after a failed step and
 * after the control plane "crashed" with faults active.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../sample-cluster/runtime/admin-client.ts';
import { clusterPorts } from '../../electron/control/chaos/cluster-ports.ts';
import { ChaosEngine } from '../../electron/control/chaos/engine.ts';
import type { ChaosMarker } from '../../electron/control/chaos/ports.ts';
import { startCluster, type TestCluster } from './cluster.ts';

/** Retries an assertion until it holds. */
async function eventually(check: () => unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let cluster: TestCluster;
let admin: AdminClient;
let dir: string | undefined;
const markers: ChaosMarker[] = [];

const ports = () => clusterPorts({ runtime: cluster.runtime, admin, onMarker: (m) => markers.push(m) });
const open = async () => (await ChaosEngine.open({ ports: ports(), directory: dir! })).engine;
const address = async (service: 'timeline' | 'gateway') => (await cluster.instance(service)).address;

beforeAll(async () => {
  cluster = await startCluster();
  admin = new AdminClient({ token: cluster.adminToken });
  dir = mkdtempSync(join(tmpdir(), 'chaoscope-chaos-'));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('chaos engine on a real cluster', () => {
  it('injects a request fault into the service and rolls it back when it expires', async () => {
    const engine = await open();
    const record = await engine.apply({
      type: 'request',
      target: { service: 'timeline' },
      fault: { kind: 'latency', latencyMs: 150 },
      durationMs: 1_500,
    });
    expect(record.state).toBe('active');
    expect(record.description).toBe('latency 150±0 ms in timeline for 1.5 s');
    const faults = await admin.faults(await address('timeline'));
    expect(faults.map((f) => f.kind)).toEqual(['latency']);
    await eventually(() => expect(engine.get(record.id)?.state).toBe('rolled-back'), 10_000);
    expect(engine.get(record.id)?.endReason).toBe('expired');
    expect(await admin.faults(await address('timeline'))).toEqual([]);
    expect(markers.filter((m) => m.faultId === record.id).map((m) => m.phase)).toEqual([
      'applied',
      'rolled-back',
    ]);
    engine.close();
  }, 30_000);

  it('says what a dry run would do and changes nothing', async () => {
    const engine = await open();
    const record = await engine.apply({
      type: 'container',
      target: { service: 'timeline' },
      change: { action: 'kill' },
      dryRun: true,
    });
    expect(record.state).toBe('dry-run');
    expect(record.plan).toEqual(['timeline-1: kill timeline (SIGKILL)']);
    expect((await cluster.instance('timeline')).state).toBe('running');
    engine.close();
  });

  it('freezes a process with SIGSTOP and thaws it on reset', async () => {
    const engine = await open();
    const base = `http://${await address('timeline')}`;
    await engine.apply({ type: 'container', target: { service: 'timeline' }, change: { action: 'pause' } });
    const frozen = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(700) }).then(
      () => 'answered',
      () => 'no answer',
    );
    expect(frozen).toBe('no answer');
    const [reset] = await engine.resetAll();
    expect(reset?.state).toBe('rolled-back');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    engine.close();
  }, 30_000);

  it('kills a service and starts it again when the fault is reset', async () => {
    const engine = await open();
    const record = await engine.apply({
      type: 'container',
      target: { service: 'timeline', pick: 'random' },
      change: { action: 'kill' },
    });
    expect(record.instances).toEqual(['timeline-1']);
    expect((await cluster.instance('timeline')).state).toBe('killed');
    await engine.rollback(record.id);
    await eventually(async () => expect((await cluster.instance('timeline')).health).toBe('healthy'), 30_000);
    engine.close();
  }, 60_000);

  it('refuses what the runtime cannot do, with the reason, and leaves nothing behind', async () => {
    const engine = await open();
    const record = await engine.apply({
      type: 'container',
      target: { service: 'timeline' },
      change: { action: 'partition' },
      durationMs: 5_000,
    });
    expect(record.state).toBe('failed');
    expect(record.error).toBe(
      'partition needs a container runtime (docker or swarm); this cluster runs on process',
    );
    expect(engine.active()).toEqual([]);
    const journal = JSON.parse(readFileSync(join(dir!, 'active-faults.json'), 'utf8')) as {
      active: unknown[];
    };
    expect(journal.active).toEqual([]);
    await expect(
      engine.apply({
        type: 'container',
        target: { service: 'timeline', pick: 'one', instance: 'timeline-9' },
        change: { action: 'kill' },
      }),
    ).rejects.toThrow('timeline has no instance timeline-9');
    await expect(
      engine.apply({ type: 'container', target: { service: 'nope' }, change: { action: 'kill' } }),
    ).rejects.toThrow(/unknown service "nope"/);
    engine.close();
  });

  it('undoes, after a crash, every fault a previous control plane left active', async () => {
    const first = await open();
    await first.apply({
      type: 'request',
      target: { service: 'timeline' },
      fault: { kind: 'error', status: 500 },
    });
    await first.apply({ type: 'breaker', breaker: 'gateway:timeline', change: { action: 'open' } });
    expect((await admin.breaker(await address('gateway'), 'gateway:timeline')).state).toBe('forced-open');
    first.close(); // gone without rolling back, as after a SIGKILL

    const { engine: second, recovery } = await ChaosEngine.open({ ports: ports(), directory: dir! });
    expect(recovery.rolledBack).toHaveLength(2);
    expect(recovery.failures).toEqual([]);
    expect(await admin.faults(await address('timeline'))).toEqual([]);
    expect((await admin.breaker(await address('gateway'), 'gateway:timeline')).state).toBe('closed');
    expect(second.active()).toEqual([]);
    second.close();
  }, 30_000);
});

/**
 * The product on Docker as the user runs it: a real control plane (its own collector and store)
 * starts the tweet cluster in containers, the containers' telemetry reaches the collector on this
 * machine (through the bridge relay), and the chaos engine acts on containers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';
import type { InvokeResult } from '../../electron/api/errors.ts';
import { dockerClient } from '../../sample-cluster/runtime/docker/client.ts';
import { describeDocker } from './docker-cluster.ts';
import { eventually } from './http.ts';

let home: string;
let plane: ControlPlane;

async function call<T>(name: string, input: unknown = {}): Promise<T> {
  const result: InvokeResult = await plane.invoke(name, input);
  if (!result.ok) throw new Error(`${name}: ${result.error.code} ${result.error.message}`);
  return result.value as T;
}

describeDocker('the control plane on Docker', () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'cs-docker-control-'));
    plane = await startControlPlane({
      home,
      env: { ...process.env, CHAOSCOPE_HOME: home },
    });
    await call('cluster.up', {
      runtime: 'docker',
      loadgen: false,
      gatewayPort: 18280,
      services: ['gateway', 'timeline'],
    });
  }, 400_000);

  afterAll(async () => {
    await plane?.invoke('cluster.down', { volumes: true });
    await plane?.close();
    rmSync(home, { recursive: true, force: true });
  }, 180_000);

  it("stores the containers' spans in the control plane's own store", async () => {
    const status = await call<{ gateway: string }>('cluster.status');
    const found = await eventually(
      async () => {
        // A refused request is still a request: the gateway's server span is what counts here.
        await fetch(`${status.gateway}/api/timeline`).catch(() => undefined);
        const { traces } = await call<{ traces: unknown[] }>('traces.search', {
          service: 'gateway',
          limit: 5,
        });
        return traces.length;
      },
      (n) => n > 0,
      90_000,
      1_000,
    );
    expect(found).toBeGreaterThan(0);
  }, 120_000);

  it("announces a container killed behind the app's back, from the engine's events stream", async () => {
    const seen: { at: number; state: string }[] = [];
    const off = plane.subscribe((batch) => {
      for (const event of batch.events)
        if (event.topic === 'service.state' && event.data.instanceId === 'timeline-1')
          seen.push({ at: performance.now(), state: event.data.to.state });
    });
    try {
      // Let the watchers take their first look and follow the engine.
      await new Promise((r) => setTimeout(r, 2_000));
      const status = await call<{ services: { name: string; instances: { containerId?: string }[] }[] }>(
        'cluster.status',
      );
      const containerId = status.services.find((s) => s.name === 'timeline')!.instances[0]!.containerId!;
      const killedAt = performance.now();
      await dockerClient().getContainer(containerId).kill({ signal: 'SIGKILL' });
      const change = await eventually(
        async () => seen.find((e) => e.at >= killedAt && e.state !== 'running'),
        (e) => e !== undefined,
        10_000,
        20,
      );
      expect(change?.state).toBe('exited');
      console.log(
        `[docker] killed outside the app → service.state at the bus after ${Math.round(change!.at - killedAt)} ms`,
      );
    } finally {
      off();
      // Started again whatever happened above, so the next test does not fail for this one.
      await call('service.start', { service: 'timeline' });
    }
  }, 120_000);

  it('kills a container through the chaos engine and starts it again on rollback', async () => {
    const applied = await call<{ id: string; state: string; instances: string[] }>('chaos.apply', {
      type: 'container',
      target: { service: 'timeline' },
      change: { action: 'kill' },
    });
    expect(applied.state).toBe('active');
    expect(applied.instances).toEqual(['timeline-1']);
    const stateOf = async () => {
      const status = await call<{ services: { name: string; instances: { state: string }[] }[] }>(
        'cluster.status',
      );
      return status.services.find((s) => s.name === 'timeline')?.instances[0]?.state;
    };
    expect(await eventually(stateOf, (state) => state !== 'running', 30_000, 250)).not.toBe('running');
    const rolled = await call<{ state: string }>('chaos.rollback', { id: applied.id });
    expect(rolled.state).toBe('rolled-back');
    expect(await eventually(stateOf, (state) => state === 'running', 90_000, 500)).toBe('running');
  }, 200_000);
});

/**
 * The chaos engine through the control plane, as the Chaos and Metrics views and the CLI use it:
 * a real control plane (in this process, web mode on, its own collector and DuckDB store) driving a
 * real tweet cluster of processes. A fault with a duration leaves an "applied" marker in the store
 * and a "rolled-back" one when it expires; `faults.reset` rolls back every fault of the engine;
 * a control plane killed with SIGKILL mid-fault (a child `chaoscope serve`) is cleaned up by the
 * next one at start, which says so; the CLI lists faults as JSON and refuses bad input clearly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosMarkerInfo, FaultRecordInfo } from '../../electron/api/chaos.ts';
import type { ControlPlane } from '../../electron/control/control-plane.ts';
import { planeClient, waitFor } from './plane-client.ts';
import { planeHome } from './plane-home.ts';
import { readControlState } from '../../electron/control/state-file.ts';
import { controlPathsFor } from '../../electron/control/paths.ts';

/** Clear of the other tiers' gateways (18080 … 18580). */
const GATEWAY_PORT = 18_680;

const lab = planeHome('cs-chaos-control-');
const { home } = lab;
const chaoscope = lab.cli;
let plane: ControlPlane;
const { invoke, refused } = planeClient(() => plane);
const eventually = <T>(check: () => Promise<T | null | undefined | false>, what: string, ms = 60_000) =>
  waitFor(check, what, ms);
const liveMarkers: ChaosMarkerInfo[] = [];
const liveFaults: FaultRecordInfo[] = [];

async function open(): Promise<ControlPlane> {
  const opened = await lab.open();
  opened.subscribe((batch) => {
    for (const event of batch.events) {
      if (event.topic === 'chaos.marker') liveMarkers.push(event.data);
      if (event.topic === 'chaos.fault') liveFaults.push(event.data);
    }
  });
  return opened;
}

const kitFaults = async (service: 'timeline' | 'tweets') => (await invoke('faults.list', { service })).faults;

beforeAll(async () => {
  plane = await open();
  await invoke('settings.set', { gatewayPort: GATEWAY_PORT, runtime: 'process' });
  await invoke('cluster.up', { runtime: 'process' });
}, 300_000);

afterAll(() => lab.cleanUp(plane), 120_000);

describe('chaos through the control plane', () => {
  it('marks a fault with a duration in the store, and marks its rollback when it expires', async () => {
    const began = Date.now();
    const record = await invoke('chaos.apply', {
      type: 'request',
      target: { service: 'timeline' },
      fault: { kind: 'latency', latencyMs: 200 },
      durationMs: 2_500,
    });
    expect(record).toMatchObject({ state: 'active', services: ['timeline'] });
    expect(record.description).toBe('latency 200±0 ms in timeline for 2.5 s');
    expect((await kitFaults('timeline')).map((f) => f.label)).toEqual([`chaoscope:${record.id}`]);

    const stored = await invoke('telemetry.markers', { from: began - 1_000, service: 'timeline' });
    expect(stored.markers).toEqual([
      expect.objectContaining({ phase: 'applied', faultId: record.id, services: ['timeline'] }),
    ]);
    // Another service's filter leaves it out.
    expect((await invoke('telemetry.markers', { from: began - 1_000, service: 'users' })).markers).toEqual(
      [],
    );

    const ended = await eventually(async () => {
      const { markers } = await invoke('telemetry.markers', { from: began - 1_000 });
      return markers.find((m) => m.faultId === record.id && m.phase === 'rolled-back');
    }, 'the rolled-back marker');
    expect(ended.reason).toBe('expired');
    expect(ended.time).toBeGreaterThanOrEqual(Date.parse(record.startedAt));
    expect(await kitFaults('timeline')).toEqual([]);
    const list = await invoke('chaos.list', { limit: 10 });
    expect(list.active).toEqual([]);
    expect(list.recent[0]).toMatchObject({ id: record.id, state: 'rolled-back', endReason: 'expired' });
    // The same markers went out live, for the Metrics view.
    await eventually(
      async () => liveMarkers.filter((m) => m.faultId === record.id).length === 2,
      'both live markers',
    );
  }, 60_000);

  it('faults.reset rolls back every fault of the engine, and faults.inject goes through the engine', async () => {
    const injected = await invoke('faults.inject', {
      service: 'tweets',
      faults: [{ kind: 'error', status: 503, probability: 0.5 }],
    });
    expect(injected.dryRun).toBe(false);
    expect(injected.injected).toEqual([expect.objectContaining({ kind: 'error', service: 'tweets' })]);
    const paused = await invoke('service.pause', { service: 'timeline', durationMs: 600_000 });
    expect(Date.parse(paused.resumesAt)).toBeGreaterThan(Date.now() + 500_000);
    const kill = await invoke('chaos.apply', {
      type: 'container',
      target: { service: 'users', pick: 'random' },
      change: { action: 'kill' },
    });
    expect(kill.state).toBe('active');
    const active = (await invoke('chaos.list')).active;
    expect(active.map((r) => r.description).sort()).toEqual([
      // One engine fault per instance, so `faults remove <id>` undoes exactly one.
      'error 503 in tweets-1 on 50% of requests',
      'kill a random users (SIGKILL)',
      'pause timeline for 10 min',
    ]);

    const reset = await invoke('faults.reset');
    expect(reset.unreachable).toEqual([]);
    expect(reset.removed).toBe(3);
    expect((await invoke('chaos.list')).active).toEqual([]);
    expect(await kitFaults('tweets')).toEqual([]);
    // Thawed and started again.
    await eventually(async () => {
      const status = await invoke('cluster.status');
      return status.services.every((s) =>
        s.instances.every((i) => i.state === 'running' && i.health === 'healthy' && !i.paused),
      );
    }, 'every service running and healthy again');
    const marked = (await invoke('telemetry.markers', {})).markers.filter(
      (m) => m.phase === 'rolled-back' && m.reason === 'reset',
    );
    expect(marked).toHaveLength(3);
  }, 90_000);

  it('answers what the process runtime cannot do with the reason, and bad input clearly', async () => {
    const scale = await refused('service.scale', { service: 'timeline', replicas: 3 });
    expect(scale.code).toBe('UNSUPPORTED');
    expect(scale.message).toMatch(/^scaling needs a container runtime/);
    // Partition falls back to the kit resetting every incoming connection, labelled as such.
    const partition = await invoke('service.partition', { service: 'tweets', durationMs: 60_000 });
    expect(Date.parse(partition.healsAt)).toBeGreaterThan(Date.now());
    expect((await kitFaults('tweets')).map((f) => [f.kind, f.label])).toEqual([
      ['abort', 'partition (process runtime: incoming connections reset by the kit)'],
    ]);
    expect((await invoke('chaos.reset')).rolledBack).toHaveLength(1);
    expect(await kitFaults('tweets')).toEqual([]);

    const percent = await refused('chaos.apply', {
      type: 'container',
      target: { service: 'timeline', pick: 'percent' },
      change: { action: 'kill' },
    });
    expect(percent.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(percent)).toContain('pick \\"percent\\" needs percent (1-100)');
    const unknown = await refused('chaos.rollback', { id: 'no-such-fault' });
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', message: 'no fault no-such-fault' });
    expect((await refused('telemetry.markers', { from: 10, to: 5 })).code).toBe('BAD_REQUEST');
  }, 60_000);

  it('CLI: chaos apply, chaos list --json, markers, and one-line errors', async () => {
    const apply = await chaoscope([
      'chaos',
      'apply',
      '--type',
      'request',
      '--service',
      'tweets',
      '--latency',
      '150ms',
      '--for',
      '5m',
      '--json',
    ]).done;
    expect(apply.code, apply.stderr).toBe(0);
    const record = JSON.parse(apply.stdout) as FaultRecordInfo;
    expect(record).toMatchObject({ state: 'active', description: 'latency 150±0 ms in tweets for 5 min' });

    const list = await chaoscope(['chaos', 'list', '--json']).done;
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { active: FaultRecordInfo[]; recent: FaultRecordInfo[] };
    expect(listed.active.map((r) => r.id)).toEqual([record.id]);

    const markers = await chaoscope(['markers', '--since', '1m']).done;
    expect(markers.code).toBe(0);
    expect(markers.stdout).toContain('applied     latency 150±0 ms in tweets for 5 min (tweets)');

    const rollback = await chaoscope(['chaos', 'rollback', record.id]).done;
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toMatch(
      /^rolled-back latency 150±0 ms in tweets for 5 min \(rolled back on request\)/,
    );

    const bad = await chaoscope(['chaos', 'apply', '--type', 'request', '--service', 'tweets']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^chaoscope: invalid fault from the flags: fault\.kind: /);
    const gone = await chaoscope(['chaos', 'rollback', 'nope']).done;
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('chaoscope: no fault nope\n');
    const scale = await chaoscope(['scale', 'timeline', '2']).done;
    expect(scale.code).toBe(1);
    expect(scale.stderr).toMatch(/^chaoscope: scaling needs a container runtime/);
  }, 90_000);

  it('schedules repeat a fault within its blast radius, persist, and refuse a fault without an end', async () => {
    const changes: string[] = [];
    const off = plane.subscribe((batch) => {
      for (const event of batch.events) if (event.topic === 'schedule.changed') changes.push(event.data.id);
    });
    try {
      const created = await invoke('schedules.create', {
        name: 'latency on users',
        everyMs: 1_000,
        blastRadius: { maxActiveFaults: 1, maxInstancePercent: 100 },
        what: {
          kind: 'fault',
          fault: {
            type: 'request',
            target: { service: 'users' },
            fault: { kind: 'latency', latencyMs: 50 },
            durationMs: 2_500,
          },
        },
      });
      // Every second it tries; with one 2.5 s fault allowed at a time, some tries are skipped.
      const busy = await eventually(async () => {
        const s = (await invoke('schedules.list')).schedules.find((x) => x.id === created.id);
        return s && s.stats.runs >= 2 && s.stats.skipped >= 1 ? s : null;
      }, 'two runs and a skip');
      expect(busy.stats.lastResult).toBeTruthy();
      expect(
        (await invoke('chaos.list')).active.filter((r) => r.origin === `schedule:${created.id}`).length,
      ).toBeLessThanOrEqual(1);
      expect(changes).toContain(created.id);

      const listed = await chaoscope(['schedule', 'list', '--json']).done;
      expect(listed.code).toBe(0);
      expect(
        (JSON.parse(listed.stdout) as { schedules: { id: string }[] }).schedules.map((x) => x.id),
      ).toContain(created.id);

      const paused = await invoke('schedules.update', { id: created.id, enabled: false });
      expect(paused.enabled).toBe(false);
      // Kept on disk for the next control plane.
      const file = JSON.parse(readFileSync(join(home, 'chaos', 'schedules.json'), 'utf8')) as {
        schedules: { id: string; enabled: boolean }[];
      };
      expect(file.schedules.find((x) => x.id === created.id)?.enabled).toBe(false);

      const endless = await refused('schedules.create', {
        name: 'forever',
        everyMs: 1_000,
        what: {
          kind: 'fault',
          fault: { type: 'container', target: { service: 'users' }, change: { action: 'pause' } },
        },
      });
      expect(endless.code).toBe('BAD_REQUEST');
      // The dispatcher names each problem in the details.
      expect(JSON.stringify(endless.details)).toMatch(/durationMs/);
      expect((await refused('schedules.run', { id: 'nope' })).code).toBe('NOT_FOUND');
      expect((await invoke('schedules.remove', { id: created.id })).removed).toBe(true);
    } finally {
      off();
    }
    await invoke('chaos.reset');
  }, 120_000);

  it('a control plane killed with SIGKILL mid-fault: the next one rolls it back at start and says so', async () => {
    await plane.close(); // the cluster keeps running
    const serve = chaoscope(['serve', '--port', '0', '--json']);
    const state = await eventually(
      async () => readControlState(controlPathsFor(home)),
      'the serve control plane to write its state',
    );
    const apply = await chaoscope([
      'chaos',
      'apply',
      '--type',
      'request',
      '--service',
      'timeline',
      '--kind',
      'hang',
      '--for',
      '10m',
      '--json',
    ]).done;
    expect(apply.code, apply.stderr).toBe(0);
    const record = JSON.parse(apply.stdout) as FaultRecordInfo;
    serve.child.kill('SIGKILL');
    await serve.done;
    expect(state.pid).toBe(serve.child.pid);

    plane = await open();
    const info = await invoke('system.info');
    expect(info.notices).toContain('rolled back 1 fault(s) a previous control plane left active');
    expect(await kitFaults('timeline')).toEqual([]);
    const { markers } = await invoke('telemetry.markers', { service: 'timeline' });
    expect(markers.filter((m) => m.faultId === record.id).map((m) => [m.phase, m.reason])).toEqual([
      ['applied', null],
      ['rolled-back', 'recovered after a control-plane restart'],
    ]);
  }, 120_000);
});

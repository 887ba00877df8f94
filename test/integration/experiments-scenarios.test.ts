/**
 * Experiments on a real cluster of processes, with a real telemetry pipeline (collector + store)
 * the services export to: every built-in scenario the process runtime supports gets the verdict
 * the design predicts, a deliberately broken setting makes the same scenario fail, and whatever
 * ends a run (success, deviation, abort, an error, a crash of the runner), no fault is left.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../sample-cluster/cluster.ts';
import { AdminClient } from '../../sample-cluster/runtime/admin-client.ts';
import { AuthAdminClient } from '../../sample-cluster/runtime/auth-admin.ts';
import { clusterPorts, type AuthChaos } from '../../electron/control/chaos/cluster-ports.ts';
import { ChaosEngine } from '../../electron/control/chaos/engine.ts';
import { Scheduler } from '../../electron/control/chaos/schedules.ts';
import {
  clusterExperimentPorts,
  createExperiments,
  loadExperiment,
  type ExperimentInput,
  type Experiments,
  type ExperimentProgress,
  type RunJournal,
} from '../../electron/control/experiments/index.ts';
import { startTelemetryPipeline, type TelemetryPipeline } from '../../electron/control/telemetry-pipeline.ts';
import { startCluster, type TestCluster } from './cluster.ts';

let telemetry: TelemetryPipeline;
let cluster: TestCluster;
let admin: AdminClient;
let home: string;
let engine: ChaosEngine;
let experiments: Experiments;

const chaosDir = () => join(home, 'chaos');
const openEngine = async () =>
  ChaosEngine.open({
    ports: clusterPorts({ runtime: cluster.runtime, admin, onMarker: () => undefined }),
    directory: chaosDir(),
  });
const experimentsOn = (e: ChaosEngine) =>
  createExperiments({
    home,
    ports: clusterExperimentPorts({
      engine: e,
      runtime: cluster.runtime,
      admin,
      query: (run) => telemetry.query(run),
    }),
  });

/** A built-in scenario as a plain object, to break one setting of it. */
const builtin = (name: string): ExperimentInput => structuredClone(loadExperiment(name).experiment);

const journalOf = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as RunJournal;

/** No fault of the engine active, none left in any service, every service running. */
async function expectNothingLeft(e: ChaosEngine = engine, dir = chaosDir()): Promise<void> {
  expect(e.active()).toEqual([]);
  const journal = JSON.parse(readFileSync(join(dir, 'active-faults.json'), 'utf8')) as {
    active: unknown[];
  };
  expect(journal.active).toEqual([]);
  await eventually(async () => {
    const status = await cluster.status();
    for (const s of status.services)
      for (const i of s.instances) expect(`${i.id} ${i.health}`).toBe(`${i.id} healthy`);
  }, 40_000);
  for (const s of (await cluster.status()).services)
    for (const i of s.instances) expect(await admin.faults(i.address)).toEqual([]);
  const gateway = (await cluster.instance('gateway')).address;
  await eventually(async () => {
    // No breaker is pinned or open. One that saw failures stays half-open until the next call tries
    // it (nothing calls without traffic): that is the breaker working, not chaos left behind.
    for (const b of await admin.breakers(gateway))
      expect(`${b.name} ${b.state}`).toMatch(new RegExp(`^${b.name} (closed|half-open)$`));
  }, 30_000);
}

async function eventually(check: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'chaoscope-xp-'));
  telemetry = await startTelemetryPipeline({
    dir: join(home, 'telemetry'),
    otlpPort: 24318,
    jaegerPort: 24268,
    retention: { maxAgeHours: 1, maxMegabytes: 256 },
  });
  const otel = {
    OTEL_EXPORTER: 'otlp-proto',
    OTEL_EXPORTER_OTLP_ENDPOINT: telemetry.collector.otlpUrl,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '2000',
  };
  cluster = await startCluster({ serviceEnv: Object.fromEntries(SERVICE_NAMES.map((name) => [name, otel])) });
  admin = new AdminClient({ token: cluster.adminToken });
  engine = (await openEngine()).engine;
  experiments = experimentsOn(engine);
}, 180_000);

afterAll(async () => {
  engine?.close();
  await cluster?.stop();
  await telemetry?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('built-in scenarios on the process runtime', () => {
  it('lists every built-in scenario, each parsing', () => {
    const list = experiments.experimentsList();
    expect(list.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'kill-timeline',
        'partition-users',
        'latency-tweets',
        'revoke-user-tokens',
        'rotate-signing-keys',
        'expire-certificate',
        'kill-registry',
      ]),
    );
    expect(list.filter((e) => e.problem)).toEqual([]);
  });

  it('kill timeline: the home timeline falls back (degraded 200s), then everything is back', async () => {
    const events: ExperimentProgress[] = [];
    const result = await experiments.experimentRun('kill-timeline', { onProgress: (e) => events.push(e) });
    const journal = journalOf(result.journal);
    expect(result.verdict, result.reason).toBe('passed');
    expect(journal.markers).toHaveLength(1);
    expect(journal.markers[0]!.description).toBe('kill timeline (SIGKILL)');
    expect(journal.markers[0]!.rolledBackAt).not.toBeNull();
    const fallback = journal.steps.find((s) => s.title.startsWith('home timeline falls back'));
    expect(fallback?.probe?.detail).toMatch(/^200 degraded/);
    expect(events.at(0)?.type).toBe('started');
    expect(events.at(-1)).toMatchObject({ type: 'finished', verdict: 'passed', report: result.report });
    // The report is one self-contained page: inline SVG charts with the fault as a band.
    const html = readFileSync(result.report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('kill timeline (SIGKILL)');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(readFileSync(result.markdown, 'utf8')).toContain('**Verdict: PASSED**');
    expect(result.report.startsWith(join(home, 'experiments', result.runId))).toBe(true);
    await expectNothingLeft();
  }, 120_000);

  it('kill timeline fails when its tolerance is made impossible (a full answer while timeline is dead)', async () => {
    const broken = builtin('kill-timeline');
    const step = broken.method[1] as { probe: { expect: { degraded?: boolean } } };
    step.probe.expect.degraded = false;
    const result = await experiments.experimentRun(broken);
    expect(result.verdict).toBe('failed');
    expect(result.reason).toContain('home timeline falls back did not hold');
    await expectNothingLeft();
  }, 120_000);

  it('latency on tweets: the gateway:tweets breaker opens, then recovers', async () => {
    const result = await experiments.experimentRun('latency-tweets');
    expect(result.verdict, result.reason).toBe('passed');
    const journal = journalOf(result.journal);
    const states = journal.samples.filter((s) => s.series.startsWith('breaker')).map((s) => s.value);
    expect(states).toContain(2);
    expect(states.at(-1)).toBe(0);
    await expectNothingLeft();
  }, 150_000);

  it('latency on tweets fails with the breaker effectively disabled (timeout above the latency)', async () => {
    const broken = builtin('latency-tweets');
    broken.method.unshift({
      type: 'fault',
      fault: {
        type: 'breaker',
        breaker: 'gateway:tweets',
        change: { action: 'configure', settings: { timeoutMs: 10_000 } },
      },
    });
    const result = await experiments.experimentRun(broken);
    expect(result.verdict).toBe('failed');
    expect(result.reason).toContain('breaker opens did not hold');
    // The breaker's settings were put back by the rollback.
    const snapshot = await admin.breaker((await cluster.instance('gateway')).address, 'gateway:tweets');
    expect(snapshot.settings.timeoutMs).toBe(2_000);
    await expectNothingLeft();
  }, 150_000);

  it('kill the registry: cached discovery keeps traffic flowing', async () => {
    const result = await experiments.experimentRun('kill-registry');
    expect(result.verdict, result.reason).toBe('passed');
    await expectNothingLeft();
  }, 120_000);

  it('kill the registry fails when its tolerance is made impossible (a degraded timeline demanded)', async () => {
    const broken = builtin('kill-registry');
    const group = broken.method[2] as { parallel: { probe: { expect: { degraded?: boolean } } }[] };
    group.parallel[0]!.probe.expect.degraded = true;
    const result = await experiments.experimentRun(broken);
    expect(result.verdict, result.reason).toBe('failed');
    expect(result.reason).toContain('home timeline still full did not hold');
    await expectNothingLeft();
  }, 150_000);

  it('partition users: on processes, the closest kit fault (abort on users) runs, and says so', async () => {
    const result = await experiments.experimentRun('partition-users');
    expect(result.verdict, result.reason).toBe('passed');
    const journal = journalOf(result.journal);
    const fault = journal.steps.find((s) => s.kind === 'fault');
    expect(fault?.title).toBe('abort in users for 2 min');
    expect(fault?.note).toContain('no network to partition');
    expect(readFileSync(result.report, 'utf8')).toContain('no network to partition');
    await expectNothingLeft();
  }, 120_000);

  it('partition users fails when the profile page is expected to stay full', async () => {
    const broken = builtin('partition-users');
    const step = broken.method[1] as { probe: { expect: { degraded?: boolean } } };
    step.probe.expect.degraded = false;
    const result = await experiments.experimentRun(broken);
    expect(result.verdict, result.reason).toBe('failed');
    expect(result.reason).toContain('profile page degrades did not hold');
    await expectNothingLeft();
  }, 150_000);

  it('auth scenarios say plainly what this cluster lacks, and leave nothing behind', async () => {
    const result = await experiments.experimentRun('revoke-user-tokens');
    expect(result.verdict).toBe('error');
    expect(result.reason).toContain("needs auth's admin API");
    await expectNothingLeft();
  }, 120_000);
});

describe("auth scenarios with auth's admin API (the trust work's client as the engine's auth port)", () => {
  /** The engine's AuthChaos port over AuthAdminClient, as the control plane wires it (cluster-chaos.ts). */
  const withAuth = async () => {
    const client = new AuthAdminClient({
      address: (await cluster.instance('auth')).address,
      token: cluster.adminToken,
    });
    const auth: AuthChaos = {
      revokeUser: (user) => client.revoke({ user }),
      revokeToken: (token) => client.revoke({ token }),
      rotateKeys: () => client.rotateKeys(),
      rotateSecret: () => client.rotateSharedSecret(),
      revokeCertificate: (service, _id, hold) =>
        client.revokeCertificate({ service, ...(hold ? { holdSeconds: 3_600 } : {}) }),
      expireCertificate: (service, _id, hold) =>
        client.expireCertificate({ service, ...(hold ? { holdSeconds: 3_600 } : {}) }),
      renewCertificate: async (service) => {
        await client.releaseCertificateHold(service);
        return client.renewCertificate((await cluster.instance(service)).address);
      },
      setAuthMode: async (mode) => (await client.setMode(mode)).previousMode,
    };
    const e = (
      await ChaosEngine.open({
        ports: clusterPorts({ runtime: cluster.runtime, admin, auth, onMarker: () => undefined }),
        directory: join(home, 'chaos-auth'),
      })
    ).engine;
    return { e, experiments: experimentsOn(e) };
  };

  it("revoke a user's tokens: the user gets 401 (time measured), another user is unaffected", async () => {
    const { e, experiments: xp } = await withAuth();
    const result = await xp.experimentRun('revoke-user-tokens');
    const journal = journalOf(result.journal);
    const refused = journal.steps.find((s) => s.title.startsWith('victim refused'));
    console.log(`revocation → 401 after ${refused?.heldAfterMs ?? '-'} ms (${refused?.probe?.detail ?? ''})`);
    expect(result.verdict, result.reason).toBe('passed');
    expect(refused?.heldAfterMs).toBeTypeOf('number');
    e.close();
    await expectNothingLeft(e, join(home, 'chaos-auth'));
  }, 120_000);

  it('revoke fails when the tolerance is made impossible (the victim still reads)', async () => {
    const { e, experiments: xp } = await withAuth();
    const broken = builtin('revoke-user-tokens');
    const step = broken.method[1] as { probe: { expect: { status: number[] } } };
    step.probe.expect.status = [200];
    const result = await xp.experimentRun(broken);
    expect(result.verdict).toBe('failed');
    e.close();
  }, 120_000);

  it('rotate signing keys: no user notices', async () => {
    const { e, experiments: xp } = await withAuth();
    const result = await xp.experimentRun('rotate-signing-keys');
    expect(result.verdict, result.reason).toBe('passed');
    e.close();
    await expectNothingLeft(e, join(home, 'chaos-auth'));
  }, 120_000);

  it("rotate signing keys does not pass when a rotation drops the reader's tokens (the abort condition stops it)", async () => {
    const { e, experiments: xp } = await withAuth();
    const broken = builtin('rotate-signing-keys');
    // What a rotation that retired the old key at once would do to a signed-in user.
    broken.method.splice(1, 0, {
      type: 'fault',
      fault: { type: 'auth', change: { action: 'revoke-user', user: '{{user:reader}}' } },
    });
    const result = await xp.experimentRun(broken);
    expect(['failed', 'aborted']).toContain(result.verdict);
    expect(result.reason).toMatch(/reader still signed in|reader reads|did not hold/);
    e.close();
    await expectNothingLeft(e, join(home, 'chaos-auth'));
  }, 120_000);

  it("expire one service's certificate: only the edges into users fail; renewed on rollback", async () => {
    const { e, experiments: xp } = await withAuth();
    const result = await xp.experimentRun('expire-certificate');
    expect(result.verdict, result.reason).toBe('passed');
    const journal = journalOf(result.journal);
    expect(journal.steps.find((s) => s.title.startsWith('edge into users fails'))?.probe?.detail).toMatch(
      /^50[234]/,
    );
    expect(journal.markers.every((m) => m.rolledBackAt !== null)).toBe(true);
    e.close();
    await expectNothingLeft(e, join(home, 'chaos-auth'));
  }, 120_000);

  it('expire certificate fails when the edge into users is expected to keep working', async () => {
    const { e, experiments: xp } = await withAuth();
    const broken = builtin('expire-certificate');
    const step = broken.method[3] as { probe: { expect: { status: number[] } } };
    step.probe.expect.status = [200];
    const result = await xp.experimentRun(broken);
    expect(result.verdict, result.reason).toBe('failed');
    expect(result.reason).toContain('edge into users fails did not hold');
    e.close();
    await expectNothingLeft(e, join(home, 'chaos-auth'));
  }, 120_000);
});

describe('rollbacks always run', () => {
  it('on abort: a failing abort condition ends the method, the faults are rolled back', async () => {
    const result = await experiments.experimentRun({
      title: 'abort when the timeline breaker opens',
      users: ['reader'],
      traffic: {
        ratePerSecond: 4,
        requests: [{ path: '/api/timeline?limit=5', as: 'reader' }],
        warmupMs: 500,
      },
      abort: { everyMs: 200, probes: [{ type: 'breaker', breaker: 'gateway:timeline', state: ['closed'] }] },
      method: [
        {
          type: 'fault',
          fault: { type: 'container', target: { service: 'timeline' }, change: { action: 'kill' } },
        },
        { type: 'wait', ms: 60_000 },
      ],
      rollbacks: [
        {
          type: 'fault',
          fault: { type: 'breaker', breaker: 'gateway:timeline', change: { action: 'reset' } },
        },
      ],
    });
    expect(result.verdict).toBe('aborted');
    expect(result.reason).toContain('abort condition breaker gateway:timeline failed');
    const journal = journalOf(result.journal);
    // The abort came before the wait began or cut it short: the wait never completed.
    expect(journal.steps.some((s) => s.kind === 'wait' && s.phase === 'method' && s.status === 'ok')).toBe(
      false,
    );
    expect(journal.steps.filter((s) => s.phase === 'rollback').map((s) => s.status)).toEqual(['ok', 'ok']);
    await expectNothingLeft();
  }, 120_000);

  it('on abort by the operator (the signal)', async () => {
    const controller = new AbortController();
    const run = experiments.experimentRun(
      {
        title: 'stopped by hand',
        method: [
          {
            type: 'fault',
            fault: {
              type: 'request',
              target: { service: 'users' },
              fault: { kind: 'latency', latencyMs: 100 },
            },
          },
          { type: 'wait', ms: 60_000 },
        ],
      },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'step' && e.step.kind === 'wait' && e.step.status === 'running') controller.abort();
        },
      },
    );
    const result = await run;
    expect(result.verdict).toBe('aborted');
    expect(result.reason).toBe('stopped by the operator');
    await expectNothingLeft();
  }, 60_000);

  it('on error: a step the runtime cannot do ends the run, and the faults before it are rolled back', async () => {
    const result = await experiments.experimentRun({
      title: 'error half way',
      method: [
        {
          type: 'fault',
          fault: { type: 'request', target: { service: 'timeline' }, fault: { kind: 'error', status: 500 } },
        },
        {
          type: 'fault',
          fault: { type: 'container', target: { service: 'users' }, change: { action: 'partition' } },
        },
        { type: 'wait', ms: 60_000 },
      ],
    });
    expect(result.verdict).toBe('error');
    expect(result.reason).toContain('partition needs a container runtime');
    const journal = journalOf(result.journal);
    expect(journal.markers.map((m) => m.rolledBackAt !== null)).toEqual([true, true]);
    await expectNothingLeft();
  }, 60_000);

  it('after the runner is killed mid-run: a new engine and runner on the same directory roll everything back', async () => {
    const definition: ExperimentInput = {
      title: 'crash in the middle',
      method: [
        {
          type: 'fault',
          fault: { type: 'container', target: { service: 'timeline' }, change: { action: 'kill' } },
        },
        {
          type: 'fault',
          fault: {
            type: 'request',
            target: { service: 'users' },
            fault: { kind: 'latency', latencyMs: 300 },
          },
        },
        { type: 'fault', fault: { type: 'breaker', breaker: 'gateway:users', change: { action: 'open' } } },
        { type: 'wait', ms: 120_000 },
      ],
      rollbacks: [
        {
          type: 'fault',
          fault: { type: 'breaker', breaker: 'gateway:timeline', change: { action: 'reset' } },
        },
      ],
    };
    engine.close();
    const root = join(import.meta.dirname, '..', '..');
    // The runner in its own process, as the control plane would run it; SIGKILLed once it waits.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { ProcessRuntime } from ${JSON.stringify(join(root, 'sample-cluster/runtime/process/runtime.ts'))};
        import { AdminClient } from ${JSON.stringify(join(root, 'sample-cluster/runtime/admin-client.ts'))};
        import { clusterPorts } from ${JSON.stringify(join(root, 'electron/control/chaos/cluster-ports.ts'))};
        import { ChaosEngine } from ${JSON.stringify(join(root, 'electron/control/chaos/engine.ts'))};
        import { createExperiments } from ${JSON.stringify(join(root, 'electron/control/experiments/index.ts'))};
        const [home, token, definition] = process.argv.slice(1);
        const runtime = new ProcessRuntime({ home: ${JSON.stringify(cluster.runtime.paths.home)} });
        const admin = new AdminClient({ token });
        const { engine } = await ChaosEngine.open({ ports: clusterPorts({ runtime, admin, onMarker() {} }), directory: home + '/chaos' });
        const ports = { engine, runtimeKind: async () => runtime.kind, gateway: async () => (await runtime.status()).gateway,
          red: async () => { throw new Error('no telemetry here'); }, breakers: async () => [] };
        await createExperiments({ home, ports }).experimentRun(JSON.parse(definition), {
          onProgress: (e) => { if (e.type === 'step' && e.step.kind === 'wait') console.log('WAITING'); },
        });
        `,
        home,
        cluster.adminToken,
        JSON.stringify(definition),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('WAITING') && resolve());
      child.on('exit', (code) => reject(new Error(`runner exited (${code}) before waiting: ${stderr}`)));
    });
    expect((await cluster.instance('timeline')).state).not.toBe('running');
    expect(await admin.faults((await cluster.instance('users')).address)).toHaveLength(1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // The restarted control plane: the engine undoes the faults, the experiments finish the run.
    const reopened = await openEngine();
    expect(reopened.recovery.rolledBack).toHaveLength(3);
    engine = reopened.engine;
    experiments = experimentsOn(engine);
    const recovered = await experiments.recover();
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.errors).toEqual([]);
    const journal = journalOf(join(home, 'experiments', recovered[0]!.runId, 'journal.json'));
    expect(journal.verdict).toBe('error');
    expect(journal.reason).toContain('interrupted');
    expect(journal.steps.at(-1)).toMatchObject({ phase: 'rollback', status: 'ok' });
    expect(existsSync(recovered[0]!.report)).toBe(true);
    expect(await experiments.recover()).toEqual([]);
    await expectNothingLeft();
  }, 150_000);
});

describe('schedules', () => {
  it('repeats a fault within its blast radius, persists its settings and counts runs and skips', async () => {
    const file = join(home, 'chaos', 'schedules.json');
    const instanceCount = async (service: string) =>
      (await cluster.status()).services.find((s) => s.name === service)?.instances.length ?? 0;
    const scheduler = new Scheduler({ engine, file, instanceCount });
    const every = scheduler.add({
      name: 'slow timeline now and then',
      everyMs: 1_000,
      blastRadius: { maxActiveFaults: 1 },
      what: {
        kind: 'fault',
        fault: {
          type: 'request',
          target: { service: 'timeline' },
          fault: { kind: 'latency', latencyMs: 50 },
          durationMs: 2_500,
        },
      },
    });
    const half = scheduler.add({
      name: 'never more than half of users',
      everyMs: 1_000,
      blastRadius: { maxActiveFaults: 5, maxInstancePercent: 50 },
      what: {
        kind: 'fault',
        fault: { type: 'request', target: { service: 'users' }, fault: { kind: 'abort' }, durationMs: 2_000 },
      },
    });
    expect(() =>
      scheduler.add({
        name: 'forever',
        everyMs: 1_000,
        what: {
          kind: 'fault',
          fault: { type: 'request', target: { service: 'users' }, fault: { kind: 'abort' } },
        },
      }),
    ).toThrow('a scheduled fault needs durationMs');
    scheduler.start();
    await eventually(async () => {
      const s = scheduler.get(every.id)!.stats;
      expect(s.runs).toBeGreaterThanOrEqual(2);
      expect(s.skipped).toBeGreaterThanOrEqual(1);
    }, 20_000);
    await scheduler.stop();
    expect(scheduler.get(half.id)!.stats).toMatchObject({ runs: 0 });
    expect(scheduler.get(half.id)!.stats.lastResult).toBe(
      'skipped: 1 of 1 users instance(s) would be hit (limit 50%)',
    );
    expect(scheduler.get(every.id)!.stats.lastResult).toMatch(
      /latency 50±0 ms in timeline for 2.5 s: (active|rolled-back)|skipped: 1 of its faults are active/,
    );

    const again = new Scheduler({ engine, file, instanceCount });
    expect(again.list().map((s) => [s.name, s.everyMs, s.stats.runs])).toEqual([
      ['slow timeline now and then', 1_000, scheduler.get(every.id)!.stats.runs],
      ['never more than half of users', 1_000, 0],
    ]);
    await engine.resetAll();
    await expectNothingLeft();
  }, 60_000);
});

/**
 * The `chaoscope` verbs end to end, as a user runs them: real child processes of bin/chaoscope.js,
 * a control plane started in the background by `up --detach`, the real tweet cluster (no loadgen)
 * sending its telemetry to that control plane's collector, in a throwaway CHAOSCOPE_HOME.
 * Ends with the crash case: the control plane is SIGKILLed with a fault and a pause active, and
 * its successor adopts the cluster and leaves no chaos behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  BreakerInfo,
  ClusterStatus,
  FaultInfo,
  Trace,
  TraceSummary,
} from '../../electron/api/schemas.ts';
import { killAll, recordedProcesses } from '../../sample-cluster/runtime/process/fixtures/fake-cluster.ts';
import { processClusterPaths } from '../../sample-cluster/runtime/paths.ts';
import { isPidAlive } from '../../electron/control/state-file.ts';
import { api, eventually } from './http.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/chaoscope.js');
const home = mkdtempSync(join(tmpdir(), 'cs-cli-it-'));
const controlPids = new Set<number>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function chaoscope(args: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      CHAOSCOPE_HOME: home,
      NO_COLOR: '1',
      LOG_LEVEL: 'warn',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function json<T>(args: readonly string[]): Promise<T> {
  const run = await chaoscope([...args, '--json']);
  if (run.code !== 0) throw new Error(`chaoscope ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

async function controlState(): Promise<{ pid: number; url: string; token: string; mode: string }> {
  const state = JSON.parse(await readFile(join(home, 'control', 'state.json'), 'utf8')) as {
    pid: number;
    url: string;
    token: string;
    mode: string;
  };
  controlPids.add(state.pid);
  return state;
}

/** The cluster admin credential, to check the services directly (not through the control plane). */
async function adminToken(): Promise<string> {
  const state = JSON.parse(await readFile(processClusterPaths(home).stateFile, 'utf8')) as {
    adminToken: string;
  };
  return state.adminToken;
}

let cluster: ClusterStatus & { dashboard: string };

beforeAll(async () => {
  const result = await chaoscope([
    'up',
    '--detach',
    '--json',
    '--runtime',
    'process',
    '--gateway-port',
    '18280',
  ]);
  if (result.code !== 0) throw new Error(`up failed (${result.code}): ${result.stderr}`);
  cluster = JSON.parse(result.stdout) as typeof cluster;
  await controlState();
}, 300_000);

afterAll(async () => {
  await chaoscope(['down', '--volumes']).catch(() => undefined);
  for (const pid of controlPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  killAll(recordedProcesses(processClusterPaths(home).stateFile));
  rmSync(home, { recursive: true, force: true });
}, 300_000);

const address = (name: string) => cluster.services.find((s) => s.name === name)!.instances[0]!.address;

describe('chaoscope against a running control plane and tweet cluster', () => {
  it('up --detach reported the gateway, the collector and the tokenised dashboard, and left both running', async () => {
    expect(cluster).toMatchObject({
      runtime: 'process',
      gateway: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      collector: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      dashboard: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/),
    });
    expect(cluster.services.map((s) => s.name)).not.toContain('loadgen');
    const state = await controlState();
    expect(state.mode).toBe('daemon');
    expect(isPidAlive(state.pid)).toBe(true);
    // The dashboard URL opens (the token becomes a cookie).
    const page = await fetch(cluster.dashboard, { redirect: 'manual' });
    expect(page.status).toBe(303);
  });

  it('status --json lists every instance with its address, through the control plane', async () => {
    const status = await json<ClusterStatus>(['status']);
    expect(status.clusterId).toBe(cluster.clusterId);
    expect(status.collector).toBe(cluster.collector);
    for (const service of status.services) {
      expect(service.instances[0]).toMatchObject({
        state: 'running',
        health: 'healthy',
        address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      });
    }
  });

  it('traces and trace return real spans of the cluster', async () => {
    const handle = `cli_${Date.now().toString(36)}`;
    const signup = await api(cluster.gateway, 'POST', '/api/accounts', {
      body: { handle, password: `${handle}-password`, displayName: 'CLI test' },
    });
    expect(signup.status).toBe(201);
    const found = await eventually(
      async () =>
        (await json<{ traces: TraceSummary[] }>(['traces', '--service', 'gateway', '--limit', '50'])).traces,
      (traces) => traces.some((t) => t.rootName === 'POST /api/accounts' && t.services.includes('auth')),
      30_000,
      1_000,
    );
    const summary = found.find((t) => t.rootName === 'POST /api/accounts')!;
    expect(summary).toMatchObject({ rootService: 'gateway', errorCount: 0 });

    const trace = await json<Trace>(['trace', summary.traceId]);
    expect(trace.traceId).toBe(summary.traceId);
    const root = trace.spans[0]!;
    expect(root).toMatchObject({
      traceId: summary.traceId,
      spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
      service: 'gateway',
      name: 'POST /api/accounts',
      status: expect.stringMatching(/^(unset|ok)$/),
      attributes: expect.objectContaining({ 'http.response.status_code': 201 }),
    });
    expect(typeof root.start).toBe('number');
    expect(root.duration).toBeGreaterThan(0);
    for (const span of trace.spans) {
      expect(Object.keys(span)).toEqual(
        expect.arrayContaining([
          'traceId',
          'spanId',
          'parentId',
          'service',
          'name',
          'start',
          'duration',
          'status',
          'attributes',
          'events',
        ]),
      );
    }
    // The call into auth is a child of the gateway's span, in the same trace.
    const auth = trace.spans.find((s) => s.service === 'auth');
    expect(auth?.parentId).toBeTruthy();
    expect(trace.spans.some((s) => s.spanId === auth!.parentId)).toBe(true);

    const human = await chaoscope(['trace', summary.traceId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('gateway: POST /api/accounts');
    const errors = await json<{ traces: TraceSummary[] }>(['traces', '--errors', '--min-duration', '1ms']);
    expect(errors.traces.every((t) => t.errorCount > 0)).toBe(true);
  }, 300_000);

  it('fault injects into the service, faults lists it, faults reset rolls it back', async () => {
    const injected = await json<{ injected: FaultInfo[] }>([
      'fault',
      'users',
      '--latency',
      '200ms',
      '--jitter',
      '50ms',
      '--error-rate',
      '0.2',
      '--for',
      '2m',
    ]);
    expect(injected.injected.map((f) => f.kind).sort()).toEqual(['error', 'latency']);
    expect(injected.injected[0]).toMatchObject({ service: 'users', instanceId: 'users-1' });

    const token = await adminToken();
    const direct = await api<{ faults: { id: string }[] }>(
      `http://${address('users')}`,
      'GET',
      '/admin/faults',
      { token },
    );
    expect(direct.body.faults.map((f) => f.id).sort()).toEqual(injected.injected.map((f) => f.id).sort());

    const listed = await json<{ faults: FaultInfo[] }>(['faults']);
    expect(listed.faults).toHaveLength(2);
    expect((await chaoscope(['faults'])).stdout).toMatch(/users-1\s+latency 200 ms ± 50 ms/);

    const reset = await json<{ removed: number }>(['faults', 'reset']);
    expect(reset.removed).toBe(2);
    expect((await json<{ faults: FaultInfo[] }>(['faults'])).faults).toEqual([]);

    const nothing = await chaoscope(['fault', 'users']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr.trim()).toBe(
      'chaoscope: say what to inject: --latency, --error-rate and/or --abort-rate',
    );
    const badRate = await chaoscope(['fault', 'users', '--error-rate', '1.5']);
    expect(badRate.code).toBe(2);
  }, 300_000);

  it('breakers lists the breakers, breaker caller:callee open|reset acts on one', async () => {
    const list = await json<{ breakers: BreakerInfo[] }>(['breakers']);
    const auth = list.breakers.find((b) => b.name === 'gateway:auth');
    expect(auth, 'the sign-up made gateway call auth').toMatchObject({ service: 'gateway', state: 'closed' });

    const opened = await json<{ breakers: BreakerInfo[] }>(['breaker', 'gateway:auth', 'open']);
    expect(opened.breakers[0]).toMatchObject({ name: 'gateway:auth', state: 'forced-open' });
    const refused = await api(cluster.gateway, 'POST', '/api/accounts', {
      body: { handle: 'cli_refused', password: 'cli_refused-password', displayName: 'x' },
    });
    expect(refused.status).toBeGreaterThanOrEqual(500);

    const reset = await json<{ breakers: BreakerInfo[] }>(['breaker', 'gateway:auth', 'reset']);
    expect(reset.breakers[0]).toMatchObject({ state: 'closed' });

    const unknown = await chaoscope(['breaker', 'gateway:nosuch', 'open']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^chaoscope: .*unknown service "nosuch"/);
  }, 300_000);

  it('pause freezes a service until resume; partition on processes resets its connections until reset', async () => {
    // A long pause: on a loaded machine the CLI alone can take seconds to start.
    const paused = await json<{ resumesAt: string; service: { instances: { pausedUntil?: string }[] } }>([
      'pause',
      'users',
      '--for',
      '10m',
    ]);
    expect(paused.service.instances[0]?.pausedUntil).toBe(paused.resumesAt);
    const health = () =>
      fetch(`http://${address('users')}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        () => 0,
      );
    expect(await health()).toBe(0);
    const status = await json<ClusterStatus>(['status']);
    expect(status.services.find((s) => s.name === 'users')!.instances[0]).toMatchObject({ paused: true });

    await json(['resume', 'users']);
    expect(await eventually(health, (s) => s === 200, 30_000, 500)).toBe(200);

    // No network to cut on processes: the kit resets the service's incoming connections instead.
    // (/healthz stays exempt from kit faults, so the fault itself is what to look at.)
    const partition = await chaoscope(['partition', 'users', '--for', '10m', '--json']);
    expect(partition.code, partition.stderr).toBe(0);
    const aborting = await json<{ faults: FaultInfo[] }>(['faults', '--service', 'users']);
    expect(aborting.faults.map((f) => f.kind)).toContain('abort');
    expect((await chaoscope(['faults', 'reset'])).code).toBe(0);
    expect((await json<{ faults: FaultInfo[] }>(['faults', '--service', 'users'])).faults).toEqual([]);
  }, 300_000);

  it('a control plane killed with SIGKILL is replaced by one that adopts the cluster and leaves no chaos behind', async () => {
    const before = await controlState();
    const injected = await json<{ injected: FaultInfo[] }>(['fault', 'timeline', '--latency', '500ms']);
    await json(['pause', 'tweets', '--for', '10m']);
    const token = await adminToken();
    const present = await api<{ faults: { id: string }[] }>(
      `http://${address('timeline')}`,
      'GET',
      '/admin/faults',
      {
        token,
      },
    );
    expect(present.body.faults.map((f) => f.id)).toEqual(injected.injected.map((f) => f.id));
    process.kill(before.pid, 'SIGKILL');
    await eventually(
      async () => isPidAlive(before.pid),
      (alive) => !alive,
    );

    // A verb that needs the control plane says there is none (the stale state file is ignored).
    const orphan = await chaoscope(['faults', '--json']);
    expect(orphan.code).toBe(3);
    expect(JSON.parse(orphan.stdout)).toMatchObject({ error: { code: 'NO_CONTROL_PLANE' } });

    // `up --detach` starts a new control plane, which adopts the healthy cluster.
    const again = await json<ClusterStatus & { adopted: boolean }>([
      'up',
      '--detach',
      '--runtime',
      'process',
    ]);
    expect(again).toMatchObject({ clusterId: cluster.clusterId, adopted: true });
    const after = await controlState();
    expect(after.pid).not.toBe(before.pid);
    expect(after.token).not.toBe(before.token);

    // No fault left, checked on the service itself; the paused service answers again.
    const faults = await api<{ faults: unknown[] }>(`http://${address('timeline')}`, 'GET', '/admin/faults', {
      token,
    });
    expect(faults.body.faults).toEqual([]);
    const tweets = await fetch(`http://${address('tweets')}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(tweets.status).toBe(200);
    const info = (await fetch(`${after.url}/api/v1/invoke/system.info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${after.token}`, 'content-type': 'application/json' },
      body: '{}',
    }).then((r) => r.json())) as { value: { notices: string[] } };
    // The chaos engine's journal had the fault and the pause: it rolled them back first.
    const notices = info.value.notices.join('\n');
    expect(notices).toMatch(/rolled back [1-9]\d* fault\(s\) a previous control plane left active/);
    expect(notices).toMatch(new RegExp(`adopted the running process cluster ${cluster.clusterId}`));
  }, 300_000);

  it('down stops the cluster and the control plane `up --detach` started', async () => {
    const state = await controlState();
    const result = await json<{ clusterId: string; stopped: string[] }>(['down']);
    expect(result.clusterId).toBe(cluster.clusterId);
    expect(result.stopped).toHaveLength(7);
    await eventually(
      async () => isPidAlive(state.pid),
      (alive) => !alive,
      20_000,
    );
    const status = await chaoscope(['status', '--json']);
    expect(status.code).toBe(3);
  }, 300_000);
});

/**
 * The process runtime against real processes: a three-service stand-in cluster (real HTTP servers
 * honouring the env contract) in a temporary CHAOSCOPE_HOME.
 */
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../errors.ts';
import type { ClusterStatus, InstanceStatus, ProgressEvent } from '../types.ts';
import { aliveCount, fakeCluster, killAll, recordedProcesses } from './fixtures/fake-cluster.ts';
import { distinctFreePorts } from './ports.ts';
import type { ProcessIdentity } from './processes.ts';
import { ProcessRuntime } from './runtime.ts';
import { readState } from './state.ts';

const TIMEOUT = 60_000;

/** Every process any test saw, killed in afterAll whatever happened. */
const seen = new Map<number, ProcessIdentity>();
const homes: string[] = [];

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cs-runtime-spec-'));
  homes.push(home);
  return home;
}

function remember(runtime: ProcessRuntime): void {
  for (const identity of recordedProcesses(runtime.paths.stateFile)) seen.set(identity.pid, identity);
}

afterAll(async () => {
  killAll(seen.values());
  await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
});

function instance(status: ClusterStatus, service: string): InstanceStatus {
  const found = status.services.find((s) => s.name === service)?.instances[0];
  if (!found) throw new Error(`no ${service} in status`);
  return found;
}

function getJson(address: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const [host, port] = [address.split(':')[0], Number(address.split(':')[1])];
  return new Promise((resolve, reject) => {
    request({ host, port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('process runtime with a stand-in cluster', () => {
  let runtime: ProcessRuntime;
  let gatewayPort: number;
  const events: ProgressEvent[] = [];

  beforeAll(async () => {
    [gatewayPort] = (await distinctFreePorts(1)) as [number];
    runtime = new ProcessRuntime({
      home: await newHome(),
      specs: fakeCluster({ gatewayPort }),
      stopTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    remember(runtime);
    await runtime.down({ volumes: true }).catch(() => undefined);
  });

  afterEach(() => remember(runtime));

  it(
    'starts every service in dependency order and reports them healthy',
    async () => {
      const status = await runtime.up({ onProgress: (e) => events.push(e) });
      remember(runtime);
      expect(status.runtime).toBe('process');
      expect(status.gateway).toBe(`http://127.0.0.1:${gatewayPort}`);
      expect(status.services.map((s) => s.name)).toEqual(['registry', 'users', 'gateway']);
      for (const service of status.services) {
        expect(service.instances).toHaveLength(1);
        expect(service.instances[0]).toMatchObject({
          id: `${service.name}-1`,
          state: 'running',
          health: 'healthy',
        });
      }
      expect(instance(status, 'gateway').address).toBe(`127.0.0.1:${gatewayPort}`);

      // A dependent starts only after what it depends on is healthy.
      const at = (type: string, id: string) =>
        events.findIndex((e) => e.type === type && 'instanceId' in e && e.instanceId === id);
      expect(at('service-healthy', 'registry-1')).toBeLessThan(at('service-starting', 'users-1'));
      expect(at('service-healthy', 'users-1')).toBeLessThan(at('service-starting', 'gateway-1'));
      expect(events.every((e) => e.elapsedMs >= 0)).toBe(true);
    },
    TIMEOUT,
  );

  it('gives each instance the env contract: its own address, the registry, the public URL, its data dir', async () => {
    const status = await runtime.status();
    const users = instance(status, 'users');
    const registry = instance(status, 'registry');
    const { body } = await getJson(users.address, '/info');
    expect(body).toMatchObject({
      instance: 'users-1',
      advertise: users.address,
      registryUrl: `http://${registry.address}`,
      publicUrl: status.gateway,
      dataDir: runtime.paths.serviceDataDir('users'),
    });
    expect(body.pid).toBe(users.pid);
    expect((await stat(runtime.paths.serviceDataDir('users'))).isDirectory()).toBe(true);
  });

  it("keeps a private state file with the admin token and each instance's exact environment", async () => {
    expect((await stat(runtime.paths.stateFile)).mode & 0o777).toBe(0o600);
    const state = await readState(runtime.paths.stateFile);
    const token = await runtime.adminToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const users = state!.services.find((s) => s.name === 'users')!.instances[0]!;
    expect(users.env.ADMIN_TOKEN).toBe(token);
    expect(users.env.CHAOSCOPE_INSTANCE_ID).toBe('users-1');
    expect(users.env.HOST).toBe('127.0.0.1');
  });

  it("appends each instance's output to its own log", async () => {
    const log = await readFile(runtime.paths.logFile('users-1'), 'utf8');
    expect(log).toContain('users-1 listening on 127.0.0.1:');
  });

  it(
    'kill leaves the service down and says it was killed; nothing restarts it',
    async () => {
      const before = instance(await runtime.status(), 'users');
      const after = (await runtime.kill('users')).instances[0]!;
      expect(after).toMatchObject({ state: 'killed', health: 'unknown', signal: 'SIGKILL', pid: before.pid });
      await new Promise((r) => setTimeout(r, 500));
      expect(instance(await runtime.status(), 'users')).toMatchObject({ state: 'killed' });
      await expect(runtime.kill('users')).rejects.toThrow('users is not running; nothing to kill');
    },
    TIMEOUT,
  );

  it(
    'up on a cluster that is not all healthy refuses and names what is wrong',
    async () => {
      const error = await runtime.up().catch((e: unknown) => e);
      expect(isRuntimeError(error, 'ALREADY_RUNNING')).toBe(true);
      expect((error as Error).message).toContain('users-1 killed');
      expect((error as Error).message).toContain('chaoscope down');
    },
    TIMEOUT,
  );

  it(
    'restart brings a killed service back on the same port',
    async () => {
      const before = instance(await runtime.status(), 'users');
      const restarted = (await runtime.restart('users')).instances[0]!;
      expect(restarted).toMatchObject({ state: 'running', health: 'healthy', address: before.address });
      expect(restarted.pid).not.toBe(before.pid);
      remember(runtime);
    },
    TIMEOUT,
  );

  it(
    'restart of a running service stops it gracefully first',
    async () => {
      const before = instance(await runtime.status(), 'registry');
      const after = (await runtime.restart('registry')).instances[0]!;
      expect(after).toMatchObject({ state: 'running', health: 'healthy', address: before.address });
      expect(after.pid).not.toBe(before.pid);
      expect(await readFile(runtime.paths.logFile('registry-1'), 'utf8')).toContain('registry-1 draining');
      remember(runtime);
    },
    TIMEOUT,
  );

  it(
    'a paused service is running but unhealthy; resumed, healthy again',
    async () => {
      await runtime.kill('gateway', { signal: 'SIGSTOP' });
      expect(instance(await runtime.status(), 'gateway')).toMatchObject({
        state: 'running',
        health: 'unhealthy',
      });
      await runtime.kill('gateway', { signal: 'SIGCONT' });
      expect(instance(await runtime.status(), 'gateway')).toMatchObject({
        state: 'running',
        health: 'healthy',
      });
    },
    TIMEOUT,
  );

  it(
    'start brings up a killed service, and an optional one the cluster did not have',
    async () => {
      await runtime.kill('gateway');
      expect((await runtime.start('gateway')).instances[0]).toMatchObject({
        state: 'running',
        health: 'healthy',
        address: `127.0.0.1:${gatewayPort}`,
      });
      const loadgen = await runtime.start('loadgen');
      remember(runtime);
      expect(loadgen.instances[0]).toMatchObject({ id: 'loadgen-1', state: 'running', health: 'healthy' });
      expect((await runtime.status()).services.map((s) => s.name)).toEqual([
        'registry',
        'users',
        'gateway',
        'loadgen',
      ]);
    },
    TIMEOUT,
  );

  it(
    'up on a healthy cluster returns it rather than starting another',
    async () => {
      const first = await runtime.status();
      const again = await runtime.up();
      expect(again.clusterId).toBe(first.clusterId);
      expect(again.services.flatMap((s) => s.instances.map((i) => i.pid))).toEqual(
        first.services.flatMap((s) => s.instances.map((i) => i.pid)),
      );
    },
    TIMEOUT,
  );

  it(
    'down stops every process, removes the record, keeps logs, and keeps data unless asked',
    async () => {
      remember(runtime);
      const identities = recordedProcesses(runtime.paths.stateFile);
      expect(aliveCount(identities)).toBe(4);
      const result = await runtime.down({ volumes: false });
      expect(result.stopped).toEqual(['loadgen-1', 'gateway-1', 'users-1', 'registry-1']);
      expect(aliveCount(identities)).toBe(0);
      await expect(runtime.status()).rejects.toThrow(/no cluster is running/);
      expect((await stat(runtime.paths.serviceDataDir('users'))).isDirectory()).toBe(true);
      expect((await stat(runtime.paths.logFile('users-1'))).isFile()).toBe(true);

      const again = await runtime.down({ volumes: true });
      expect(again).toEqual({ clusterId: null, stopped: [], volumesRemoved: true });
      await expect(stat(runtime.paths.dataDir)).rejects.toThrow(/ENOENT/);
    },
    TIMEOUT,
  );
});

describe('process runtime failures', () => {
  it(
    'a service that fails to start is named with the end of its log, and nothing is left running',
    async () => {
      const [gatewayPort] = (await distinctFreePorts(1)) as [number];
      const runtime = new ProcessRuntime({
        home: await newHome(),
        specs: fakeCluster({ failing: 'users', gatewayPort }),
        stopTimeoutMs: 5_000,
      });
      const events: ProgressEvent[] = [];
      try {
        const error = await runtime.up({ onProgress: (e) => events.push(e) }).catch((e: unknown) => e);
        expect(isRuntimeError(error, 'START_FAILED')).toBe(true);
        const failure = error as Error & { details: string[] };
        expect(failure.message).toMatch(
          /^users failed to start: it exited with code 1 before answering \/readyz \(log: .*users-1\.log\)$/,
        );
        expect(failure.details.join('\n')).toContain(
          'users: failed to start: database is newer than this code',
        );
        expect(events.some((e) => e.type === 'service-failed' && e.service === 'users')).toBe(true);
        expect(events.some((e) => e.type === 'service-starting' && e.service === 'gateway')).toBe(false);
        await expect(runtime.status()).rejects.toThrow(/no cluster is running/);
        expect(await readFile(runtime.paths.logFile('users-1'), 'utf8')).toContain('database is newer');
      } finally {
        remember(runtime);
        await runtime.down({ volumes: true }).catch(() => undefined);
      }
      expect(aliveCount(seen.values())).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'the gateway takes the next free port when its own is busy, and says so',
    async () => {
      const { createServer } = await import('node:net');
      const blocker = createServer();
      const busy = await new Promise<number>((resolve) =>
        blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
      );
      const runtime = new ProcessRuntime({
        home: await newHome(),
        specs: fakeCluster({ gatewayPort: busy }),
        stopTimeoutMs: 5_000,
      });
      const notes: string[] = [];
      try {
        const status = await runtime.up({ onProgress: (e) => e.type === 'note' && notes.push(e.message) });
        remember(runtime);
        const port = Number(new URL(status.gateway).port);
        expect(port).toBeGreaterThan(busy);
        expect(instance(status, 'gateway')).toMatchObject({
          address: `127.0.0.1:${port}`,
          health: 'healthy',
        });
        expect(notes).toContain(`port ${busy} is busy; the gateway takes ${port}`);
      } finally {
        blocker.close();
        remember(runtime);
        await runtime.down({ volumes: true }).catch(() => undefined);
      }
    },
    TIMEOUT,
  );

  it(
    'never signals a process that merely reuses a recorded pid, and replaces a record whose processes are gone',
    async () => {
      const [gatewayPort] = (await distinctFreePorts(1)) as [number];
      const runtime = new ProcessRuntime({
        home: await newHome(),
        specs: fakeCluster({ gatewayPort }),
        stopTimeoutMs: 5_000,
      });
      const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      try {
        const first = await runtime.up();
        remember(runtime);
        const state = JSON.parse(await readFile(runtime.paths.stateFile, 'utf8')) as {
          services: { instances: { pid: number }[] }[];
        };
        killAll(recordedProcesses(runtime.paths.stateFile));
        // As if the pid had been reused after a crash: the record now names an unrelated process.
        state.services[1]!.instances[0]!.pid = bystander.pid!;
        await writeFile(runtime.paths.stateFile, JSON.stringify(state));

        expect(instance(await runtime.status(), 'users')).toMatchObject({
          state: 'exited',
          pid: bystander.pid,
        });
        await expect(runtime.kill('users')).rejects.toThrow(/not running/);
        await expect(runtime.restart('users')).resolves.toBeDefined();
        remember(runtime);
        expect(bystander.exitCode).toBeNull();
        expect(bystander.signalCode).toBeNull();

        // A record whose processes are all gone (as after a reboot) is replaced by a new cluster.
        killAll(recordedProcesses(runtime.paths.stateFile));
        const notes: string[] = [];
        const second = await runtime.up({ onProgress: (e) => e.type === 'note' && notes.push(e.message) });
        remember(runtime);
        expect(second.clusterId).not.toBe(first.clusterId);
        expect(notes).toContain(
          `cluster ${first.clusterId} left a record but no processes; starting a new one (data kept)`,
        );
        expect(second.services.every((s) => s.instances.every((i) => i.health === 'healthy'))).toBe(true);
        await runtime.down({ volumes: false });
        expect(bystander.exitCode).toBeNull();
        expect(bystander.signalCode).toBeNull();
      } finally {
        bystander.kill('SIGKILL');
        remember(runtime);
        await runtime.down({ volumes: true }).catch(() => undefined);
      }
    },
    TIMEOUT,
  );

  it('status, kill and restart without a cluster say there is none', async () => {
    const runtime = new ProcessRuntime({ home: await newHome(), specs: fakeCluster() });
    const attempts = [
      () => runtime.status(),
      () => runtime.kill('users'),
      () => runtime.restart('users'),
      () => runtime.start('users'),
      () => runtime.adminToken(),
    ];
    for (const attempt of attempts) {
      const error = await (attempt() as Promise<unknown>).catch((e: unknown) => e);
      expect(isRuntimeError(error, 'NO_CLUSTER')).toBe(true);
    }
  });
});

/**
 * The `chaoscope` command as a user runs it: a real child process, real exit codes, real output.
 * Verbs that act on an existing cluster run the real bin/chaoscope.js; `up` runs the same CLI code
 * through a fixture whose runtime starts the stand-in cluster instead of the tweet cluster.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../../sample-cluster/cluster.ts';
import {
  aliveCount,
  killAll,
  recordedProcesses,
} from '../../../sample-cluster/runtime/process/fixtures/fake-cluster.ts';
import { distinctFreePorts } from '../../../sample-cluster/runtime/process/ports.ts';
import type { ProcessIdentity } from '../../../sample-cluster/runtime/process/processes.ts';
import { processClusterPaths } from '../../../sample-cluster/runtime/paths.ts';
import type { ClusterStatus, DownResult, ServiceStatus } from '../../../sample-cluster/runtime/types.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/chaoscope.js');
const FAKE_CLI = join(ROOT, 'electron/control/cli/fixtures/fake-cluster-cli.ts');
const TIMEOUT = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const homes: string[] = [];
const seen = new Map<number, ProcessIdentity>();
const children: ChildProcessWithoutNullStreams[] = [];

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cs-cli-spec-'));
  homes.push(home);
  return home;
}

function remember(home: string): void {
  for (const identity of recordedProcesses(processClusterPaths(home).stateFile))
    seen.set(identity.pid, identity);
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  killAll(seen.values());
  await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
});

function start(
  script: string,
  args: readonly string[],
  home: string,
  node = process.execPath,
): ChildProcessWithoutNullStreams {
  const child = spawn(node, [script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CHAOSCOPE_HOME: home, NO_COLOR: '1' },
  });
  children.push(child);
  return child;
}

function run(script: string, args: readonly string[], home: string, node?: string): Promise<Run> {
  const child = start(script, args, home, node);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A long-running command whose output is watched as it comes. */
function watch(script: string, args: readonly string[], home: string) {
  const child = start(script, args, home);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; stdout: ${out.stdout}\nstderr: ${out.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, out, closed, until };
}

const chaoscope = (args: readonly string[], home: string) => run(BIN, args, home);
const fakeChaoscope = (args: readonly string[], home: string) => run(FAKE_CLI, args, home);

describe('chaoscope without a cluster', () => {
  let home: string;
  beforeAll(async () => {
    home = await newHome();
  });

  it('status --json says there is none, as JSON, with exit code 3', async () => {
    const result = await chaoscope(['status', '--json'], home);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'NO_CLUSTER',
        message: expect.stringMatching(
          /^no cluster is running .*; start one with `chaoscope up`$/,
        ) as unknown,
      },
    });
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^chaoscope: no cluster is running/);
  });

  it('status in a terminal gives one line and no stack trace', async () => {
    const result = await chaoscope(['status'], home);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('down is a no-op that succeeds', async () => {
    const result = await chaoscope(['down', '--json'], home);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout) as DownResult).toEqual({
      clusterId: null,
      stopped: [],
      volumesRemoved: false,
    });
  });

  it.each([
    [['kill', 'timelime'], `chaoscope: unknown service "timelime"; valid: ${SERVICE_NAMES.join(', ')}`],
    [['restart'], "chaoscope: missing required argument 'service'"],
    [
      ['kill', 'users', '--signal', 'NOPE'],
      'chaoscope: unknown signal "NOPE"; use a name such as SIGKILL, SIGTERM, SIGINT, SIGSTOP or SIGCONT',
    ],
    [
      ['up', '--runtime', 'kubernetes'],
      "chaoscope: option '--runtime <kind>' argument 'kubernetes' is invalid. Allowed choices are auto, process, docker, swarm.",
    ],
    [
      ['up', '--gateway-port', '99999'],
      "chaoscope: option '--gateway-port <port>' argument '99999' is invalid. a port is between 1 and 65535",
    ],
    [['frobnicate'], "chaoscope: unknown command 'frobnicate'"],
  ])('%j is a usage error (exit 2) with one line', async (args, message) => {
    const result = await chaoscope(args, home);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(message);
  });

  it('a usage error with --json also answers in JSON', async () => {
    const result = await chaoscope(['kill', 'nosuch', '--json'], home);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'USAGE' } });
  });

  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
    if (!existsSync(path)) return false;
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    return major < 22 || (major === 22 && minor < 18);
  });
  it.skipIf(!oldNode)('on a Node older than 22.18 explains how to run it instead of crashing', async () => {
    const result = await run(BIN, ['status'], home, oldNode);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^chaoscope needs Node 22\.18 or newer, but this is Node \d+\.\d+\.\d+; run it through npm\/npx/,
    );
  });
});

describe('chaoscope with a running cluster', () => {
  let home: string;
  let gatewayPort: number;

  beforeAll(async () => {
    home = await newHome();
    [gatewayPort] = (await distinctFreePorts(1)) as [number];
  });
  afterEach(() => remember(home));
  afterAll(async () => {
    remember(home);
    await chaoscope(['down', '--volumes'], home);
  }, TIMEOUT);

  it(
    'up --detach --json returns once all are healthy and leaves the cluster running after it exits',
    async () => {
      const result = await fakeChaoscope(
        ['up', '--detach', '--json', '--gateway-port', String(gatewayPort)],
        home,
      );
      remember(home);
      expect(result.stderr).toContain('registry-1   healthy');
      expect(result.code).toBe(0);
      const status = JSON.parse(result.stdout) as ClusterStatus;
      expect(status).toMatchObject({ runtime: 'process', gateway: `http://127.0.0.1:${gatewayPort}` });
      expect(status.services.map((s) => s.name)).toEqual(['registry', 'users', 'gateway']);
      expect(
        status.services
          .flatMap((s) => s.instances)
          .every((i) => i.state === 'running' && i.health === 'healthy'),
      ).toBe(true);
      // The command has exited; its services have not.
      expect(aliveCount(recordedProcesses(processClusterPaths(home).stateFile))).toBe(3);
    },
    TIMEOUT,
  );

  it('status --json lists every service with its instances', async () => {
    const result = await chaoscope(['status', '--json'], home);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as ClusterStatus;
    for (const service of status.services) {
      expect(service.instances).toEqual([
        expect.objectContaining({
          id: `${service.name}-1`,
          state: 'running',
          health: 'healthy',
          address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
        }),
      ]);
    }
  });

  it('status prints a table', async () => {
    const result = await chaoscope(['status'], home);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: all 3 healthy\n/);
    expect(result.stdout).toMatch(/^SERVICE\s+INSTANCE\s+STATE\s+HEALTH\s+ADDRESS\s+PID\s+LAST EXIT$/m);
    expect(result.stdout).toMatch(/^users\s+users-1\s+running\s+healthy\s+127\.0\.0\.1:\d+\s+\d+$/m);
  });

  it(
    'kill, start and restart act on the cluster another command started',
    async () => {
      const killed = await chaoscope(['kill', 'users', '--json'], home);
      expect(killed.code).toBe(0);
      expect((JSON.parse(killed.stdout) as ServiceStatus).instances[0]).toMatchObject({
        state: 'killed',
        signal: 'SIGKILL',
      });

      const again = await chaoscope(['kill', 'users'], home);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toBe('chaoscope: users is not running; nothing to kill');

      const up = await fakeChaoscope(['up', '--detach'], home);
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('and not all healthy: users-1 killed; use `chaoscope down` first');

      const started = await chaoscope(['start', 'users', '--json'], home);
      expect(started.code).toBe(0);
      expect((JSON.parse(started.stdout) as ServiceStatus).instances[0]).toMatchObject({
        state: 'running',
        health: 'healthy',
      });

      const before = JSON.parse((await chaoscope(['status', '--json'], home)).stdout) as ClusterStatus;
      const restarted = await chaoscope(['restart', 'gateway', '--json'], home);
      expect(restarted.code).toBe(0);
      const gateway = (JSON.parse(restarted.stdout) as ServiceStatus).instances[0]!;
      expect(gateway).toMatchObject({
        state: 'running',
        health: 'healthy',
        address: `127.0.0.1:${gatewayPort}`,
      });
      expect(gateway.pid).not.toBe(before.services.find((s) => s.name === 'gateway')!.instances[0]!.pid);
    },
    TIMEOUT,
  );

  it(
    'up on a healthy cluster returns that cluster',
    async () => {
      const before = JSON.parse((await chaoscope(['status', '--json'], home)).stdout) as ClusterStatus;
      const result = await fakeChaoscope(['up', '--detach', '--json'], home);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as ClusterStatus).clusterId).toBe(before.clusterId);
    },
    TIMEOUT,
  );

  it(
    'up in the foreground on a cluster that was already there watches it, and Ctrl+C leaves it running',
    async () => {
      const before = JSON.parse((await chaoscope(['status', '--json'], home)).stdout) as ClusterStatus;
      const { child, out, closed, until } = watch(FAKE_CLI, ['up'], home);
      try {
        await until(
          () => out.stdout.includes('Watching it; Ctrl+C stops watching and leaves it running.'),
          'the adoption',
        );
        expect(out.stdout).toContain(`A cluster was already running and healthy: ${before.clusterId}`);
        child.kill('SIGINT');
        expect(await closed).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
      const after = JSON.parse((await chaoscope(['status', '--json'], home)).stdout) as ClusterStatus;
      expect(after.clusterId).toBe(before.clusterId);
      expect(after.services.flatMap((s) => s.instances).every((i) => i.health === 'healthy')).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'down --json stops every process',
    async () => {
      remember(home);
      const identities = recordedProcesses(processClusterPaths(home).stateFile);
      const result = await chaoscope(['down', '--json'], home);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as DownResult).stopped).toEqual([
        'gateway-1',
        'users-1',
        'registry-1',
      ]);
      expect(aliveCount(identities)).toBe(0);
      expect((await chaoscope(['status'], home)).code).toBe(3);
    },
    TIMEOUT,
  );
});

describe('chaoscope up in the foreground', () => {
  it(
    'reports chaos done from another terminal and stops the cluster on Ctrl+C',
    async () => {
      const home = await newHome();
      const [gatewayPort] = (await distinctFreePorts(1)) as [number];
      const { child, out, closed, until } = watch(
        FAKE_CLI,
        ['up', '--gateway-port', String(gatewayPort)],
        home,
      );
      try {
        await until(() => out.stdout.includes('Press Ctrl+C to stop the cluster'), 'the cluster to be up');
        remember(home);
        expect(out.stdout).toMatch(new RegExp(`gateway +http://127\\.0\\.0\\.1:${gatewayPort}\n`));
        // The foreground `up` runs the control plane itself: collector and dashboard are there too.
        expect(out.stdout).toMatch(/collector +http:\/\/127\.0\.0\.1:\d+ \(OTLP\/HTTP\)/);
        expect(out.stdout).toMatch(/dashboard +http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}/);
        expect(out.stdout).toContain(`curl http://127.0.0.1:${gatewayPort}/.well-known/openid-configuration`);
        expect(out.stdout).toContain('npx chaoscope status');

        expect((await chaoscope(['kill', 'users'], home)).code).toBe(0);
        await until(
          () => out.stderr.includes('users-1 running/healthy → killed/unknown (SIGKILL)'),
          'the kill to be reported',
        );

        const identities = recordedProcesses(processClusterPaths(home).stateFile);
        child.kill('SIGINT');
        expect(await closed).toBe(0);
        expect(out.stderr).toContain('stopping the cluster');
        expect(aliveCount(identities)).toBe(0);
        expect((await chaoscope(['status'], home)).code).toBe(3);
      } finally {
        child.kill('SIGKILL');
        remember(home);
      }
    },
    TIMEOUT,
  );
});

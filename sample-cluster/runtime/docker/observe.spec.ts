import { describe, expect, it } from 'vitest';
import { markApplies } from './chaos-record.ts';
import { engineOptions } from './client.ts';
import { LABEL, isOurs, labelFilter } from './labels.ts';
import { LogDemuxer, computeStats } from './observe.ts';
import { deriveState, hostAddress, type InspectedContainer } from './status.ts';
import { parseLdd } from '../images/node-binary.ts';

const frame = (stream: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('the multiplexed log stream', () => {
  it('splits frames into lines per stream, across chunk and frame boundaries', () => {
    const demux = new LogDemuxer('users-1');
    const all = Buffer.concat([frame(1, 'one\ntw'), frame(2, 'oops\n'), frame(1, 'o\nthree')]);
    const lines = [
      ...demux.push(all.subarray(0, 5)),
      ...demux.push(all.subarray(5, 19)),
      ...demux.push(all.subarray(19)),
    ];
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'one'],
      ['stderr', 'oops'],
      ['stdout', 'two'],
    ]);
    expect(demux.flush().map((l) => l.text)).toEqual(['three']);
  });
});

describe('container stats', () => {
  it('computes CPU %, the working set and network totals as docker stats does', () => {
    const stats = computeStats('gateway-1', {
      read: '2026-11-27T12:00:00Z',
      cpu_stats: { cpu_usage: { total_usage: 3_000_000 }, system_cpu_usage: 20_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000 },
      memory_stats: {
        usage: 60 * 2 ** 20,
        limit: 160 * 2 ** 20,
        stats: { total_inactive_file: 10 * 2 ** 20 },
      },
      networks: { eth0: { rx_bytes: 100, tx_bytes: 50 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
    });
    expect(stats).toEqual({
      instanceId: 'gateway-1',
      cpuPercent: 40,
      memoryBytes: 50 * 2 ** 20,
      memoryLimitBytes: 160 * 2 ** 20,
      networkRxBytes: 101,
      networkTxBytes: 52,
      at: '2026-11-27T12:00:00Z',
    });
  });

  it('reports 0 % without a previous sample rather than a division by zero', () => {
    expect(computeStats('x', { cpu_stats: { cpu_usage: { total_usage: 5 } } }).cpuPercent).toBe(0);
  });
});

describe('instance state from docker inspect', () => {
  const network = 'chaoscope-abc';
  const base = (state: InspectedContainer['State'], connected = true): InspectedContainer => ({
    Id: 'f'.repeat(64),
    Config: { Labels: { [LABEL.cluster]: 'abc', [LABEL.instance]: 'users-1' } },
    State: { StartedAt: '2026-11-27T10:00:00Z', ...state },
    HostConfig: { PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41234' }] } },
    NetworkSettings: { Networks: connected ? { [network]: { IPAddress: '172.18.0.5' } } : {} },
  });

  it('tells killed and stopped (ours) from exited (a crash), for this incarnation only', () => {
    const dead = base({ Running: false, Status: 'exited', ExitCode: 137 });
    const mark = {
      kind: 'killed' as const,
      signal: 'SIGKILL',
      at: '2026-11-27T10:05:00Z',
      incarnation: '2026-11-27T10:00:00Z',
    };
    expect(deriveState(dead, { network, mark })).toEqual({
      state: 'killed',
      health: 'unknown',
      signal: 'SIGKILL',
    });
    expect(deriveState(dead, { network, mark: { ...mark, kind: 'stopped' } })).toEqual({
      state: 'stopped',
      health: 'unknown',
    });
    expect(deriveState(dead, { network, mark: { ...mark, incarnation: '2026-11-27T09:00:00Z' } })).toEqual({
      state: 'exited',
      health: 'unknown',
      exitCode: 137,
    });
    expect(markApplies(mark, '2026-11-27T11:00:00Z')).toBeUndefined();
  });

  it('shows paused and partitioned instances as running but unhealthy', () => {
    expect(
      deriveState(base({ Running: true, Paused: true, Health: { Status: 'healthy' } }), { network }),
    ).toEqual({
      state: 'running',
      health: 'unhealthy',
      paused: true,
    });
    expect(
      deriveState(base({ Running: true, Health: { Status: 'healthy' } }, false), { network, ready: false }),
    ).toEqual({
      state: 'running',
      health: 'unhealthy',
      partitioned: true,
    });
  });

  it('is starting until the first success, whoever sees it first', () => {
    const fresh = base({ Running: true, Health: { Status: 'starting' } });
    expect(deriveState(fresh, { network, ready: false }).state).toBe('starting');
    expect(deriveState(fresh, { network, ready: true })).toEqual({ state: 'running', health: 'healthy' });
    // Once this incarnation answered, a failed or missing check (a kill in flight) is not a new start.
    expect(deriveState(fresh, { network, wasReady: true })).toEqual({
      state: 'running',
      health: 'unhealthy',
    });
    expect(deriveState(fresh, { network, ready: false, wasReady: true }).state).toBe('running');
    expect(deriveState(base({ Status: 'created' }), { network })).toEqual({
      state: 'stopped',
      health: 'unknown',
    });
  });

  it('addresses an instance by its loopback-published port', () => {
    expect(hostAddress(base({ Running: true }), network)).toBe('127.0.0.1:41234');
    expect(hostAddress({ ...base({}), HostConfig: {} }, network)).toBe('172.18.0.5:8000');
  });
});

describe('labels, engines and libraries', () => {
  it('claims only objects with the cluster label', () => {
    expect(isOurs({ [LABEL.cluster]: 'abc' })).toBe(true);
    expect(isOurs({ [LABEL.cluster]: 'abc' }, 'abd')).toBe(false);
    expect(isOurs({ [LABEL.service]: 'users' })).toBe(false);
    expect(isOurs(null)).toBe(false);
    expect(labelFilter({ a: '1', b: undefined })).toEqual({ label: ['a=1', 'b'] });
  });

  it('reads DOCKER_HOST the way the docker CLI does', () => {
    expect(engineOptions({})).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(engineOptions({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(engineOptions({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).toEqual({
      protocol: 'http',
      host: '10.0.0.5',
      port: '2375',
    });
    expect(engineOptions({ DOCKER_HOST: 'ssh://ops@build-host' })).toMatchObject({
      protocol: 'ssh',
      host: 'build-host',
      username: 'ops',
    });
    expect(() =>
      engineOptions({ DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_CERT_PATH: '/nonexistent' }),
    ).toThrow(/certificates/);
    expect(() => engineOptions({ DOCKER_HOST: 'ftp://x' })).toThrow(/not supported/);
  });

  it('lists the libraries ldd names, and refuses a missing one', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)',
    ].join('\n');
    expect(parseLdd(out)).toEqual([
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
    expect(() => parseLdd('\tlibfoo.so.1 => not found')).toThrow(/libfoo/);
  });
});

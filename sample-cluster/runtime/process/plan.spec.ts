import { describe, expect, it } from 'vitest';
import { CLUSTER_SPEC, SERVICE_NAMES, startOrder } from '../../cluster.ts';
import { baseConfigSchema } from '../../kit/config.ts';
import { isRuntimeError } from '../errors.ts';
import {
  deriveInstanceState,
  inheritedEnv,
  instanceEnv,
  isTerminatingSignal,
  selectServices,
  stopWaves,
} from './plan.ts';

const names = (specs: readonly { name: string }[]) => specs.map((s) => s.name);

describe('selectServices', () => {
  it('starts every service but the optional loadgen by default, dependencies first', () => {
    const order = names(selectServices(CLUSTER_SPEC));
    expect(order).not.toContain('loadgen');
    expect(order).toHaveLength(SERVICE_NAMES.length - 1);
    for (const spec of CLUSTER_SPEC.filter((s) => order.includes(s.name))) {
      for (const dependency of spec.dependsOn)
        expect(order.indexOf(dependency)).toBeLessThan(order.indexOf(spec.name));
    }
    expect(order[0]).toBe('registry');
    expect(order.at(-1)).toBe('gateway');
  });

  it('adds loadgen (after the gateway) when traffic is wanted', () => {
    const order = names(selectServices(CLUSTER_SPEC, { withLoadgen: true }));
    expect(order.at(-1)).toBe('loadgen');
    expect(order.indexOf('gateway')).toBeLessThan(order.indexOf('loadgen'));
  });

  it('brings in what a requested service depends on, and nothing else', () => {
    // Every trusted service enrolls at auth before it starts serving.
    expect(names(selectServices(CLUSTER_SPEC, { services: ['timeline'] }))).toEqual([
      'registry',
      'auth',
      'users',
      'timeline',
    ]);
  });

  it('names the missing service when a dependency is not in the spec list', () => {
    const specs = CLUSTER_SPEC.filter((s) => s.name !== 'users');
    const error = (() => {
      try {
        selectServices(specs, { services: ['timeline'] });
      } catch (e) {
        return e;
      }
    })();
    expect(isRuntimeError(error, 'UNKNOWN_SERVICE')).toBe(true);
    expect((error as Error).message).toBe('timeline depends on "users", which this cluster does not have');
  });
});

describe('stopWaves', () => {
  it('stops dependents before what they depend on, independent services together', () => {
    const services = startOrder(CLUSTER_SPEC).map((s) => ({ name: s.name, dependsOn: [...s.dependsOn] }));
    const waves = stopWaves(services);
    expect(waves[0]).toEqual(['loadgen']);
    expect(waves[1]).toEqual(['gateway']);
    expect(waves.at(-1)).toEqual(['registry']);
    const position = new Map(waves.flatMap((wave, i) => wave.map((name) => [name, i] as const)));
    for (const s of services)
      for (const d of s.dependsOn) expect(position.get(s.name)!).toBeLessThan(position.get(d)!);
    expect(waves.flat().sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it('still ends on a cycle from a hand-edited record', () => {
    const waves = stopWaves([
      { name: 'users', dependsOn: ['tweets'] },
      { name: 'tweets', dependsOn: ['users'] },
    ]);
    expect(waves.flat().sort()).toEqual(['tweets', 'users']);
  });
});

describe('instanceEnv', () => {
  it('fills the whole env contract so the kit accepts it', () => {
    const env = instanceEnv({
      clusterId: 'c1',
      service: 'timeline',
      instanceId: 'timeline-1',
      host: '127.0.0.1',
      port: 41000,
      dataDir: '/tmp/data/timeline',
      registryPort: 40000,
      gatewayPort: 8081,
      adminToken: 'a'.repeat(43),
      logLevel: 'info',
    });
    const config = baseConfigSchema.parse(env);
    expect(config.ADVERTISE_ADDRESS).toBe('127.0.0.1:41000');
    expect(config.REGISTRY_URL).toBe('http://127.0.0.1:40000');
    expect(config.PUBLIC_URL).toBe('http://127.0.0.1:8081');
    expect(config.PORT).toBe(41000);
    expect(config.DISCOVERY).toBe('registry');
  });

  it('passes on PATH, HOME and OTEL_* from the caller, and nothing else', () => {
    expect(
      inheritedEnv({
        PATH: '/bin',
        HOME: '/h',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
        NODE_OPTIONS: '--inspect',
        SECRET: 's',
      }),
    ).toEqual({
      PATH: '/bin',
      HOME: '/h',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
    });
  });
});

describe('deriveInstanceState', () => {
  const base = { pid: 10, readyAt: '2026-01-01T00:00:00.000Z', desired: 'running' as const, killed: null };
  it.each([
    ['alive and answering', base, true, true, 'running', 'healthy'],
    ['alive, not answering (paused or overloaded)', base, true, false, 'running', 'unhealthy'],
    ['alive, never ready yet', { ...base, readyAt: null }, true, false, 'starting', 'unhealthy'],
    [
      'alive and answering though its starter died before noting it',
      { ...base, readyAt: null },
      true,
      true,
      'running',
      'healthy',
    ],
    [
      'gone after a kill',
      { ...base, killed: { signal: 'SIGKILL', at: base.readyAt } },
      false,
      false,
      'killed',
      'unknown',
    ],
    ['gone on its own', base, false, false, 'exited', 'unknown'],
    ['stopped on purpose', { ...base, desired: 'stopped' as const }, false, false, 'stopped', 'unknown'],
    ['never launched', { ...base, pid: null }, false, false, 'stopped', 'unknown'],
  ] as const)('%s', (_label, record, alive, ready, state, health) => {
    expect(deriveInstanceState(record, alive, ready)).toEqual({ state, health });
  });
});

describe('isTerminatingSignal', () => {
  it('tells signals that end a process from those that pause or resume it', () => {
    expect(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'].every(isTerminatingSignal)).toBe(true);
    expect(['SIGSTOP', 'SIGCONT', 'SIGUSR1'].some(isTerminatingSignal)).toBe(false);
  });
});

/**
 * The topology's model (renderer/src/components/topology/topology-model.ts): what colour a node
 * gets and what an edge says, from the shapes the control plane sends.
 */
import { describe, expect, it } from 'vitest';
import type { BreakerInfo, InstanceStatus, ServiceGraph, ServiceStatus } from '../../electron/api/index.ts';
import { buildTopology, worstBreaker } from '../../renderer/src/components/topology/topology-model.ts';
import { serviceHealth } from '../../renderer/src/model/health.ts';

const instance = (
  id: string,
  state: 'running' | 'killed' | 'starting',
  health: 'healthy' | 'unhealthy' | 'unknown' = 'healthy',
): InstanceStatus => ({
  id,
  state,
  health,
  address: '127.0.0.1:1',
});
const service = (name: ServiceStatus['name'], ...instances: InstanceStatus[]): ServiceStatus => ({
  name,
  instances,
});

function breaker(caller: string, callee: string, state: BreakerInfo['state']): BreakerInfo {
  return {
    name: `${caller}:${callee}`,
    caller,
    callee,
    state,
    service: caller as BreakerInfo['service'],
    instanceId: `${caller}-1`,
    settings: {
      timeoutMs: 1000,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      resetTimeoutMs: 5000,
      capacity: 10,
      consecutiveFailures: 3,
    },
    rollingWindowMs: 10_000,
    counts: { requests: 0, success: 0, failure: 0, timeout: 0, shortCircuited: 0, rejected: 0, fallback: 0 },
    errorPercentage: 0,
    ratePerSecond: 0,
    latencyMs: { mean: 0, p50: 0, p90: 0, p99: 0, p995: 0, max: 0 },
    transitions: [],
  };
}

describe('service health', () => {
  it('is healthy only when every instance runs and passes its health check', () => {
    expect(serviceHealth(service('users', instance('users-1', 'running')))).toBe('healthy');
    expect(
      serviceHealth(service('users', instance('users-1', 'running'), instance('users-2', 'killed'))),
    ).toBe('degraded');
    expect(serviceHealth(service('users', instance('users-1', 'running', 'unhealthy')))).toBe('degraded');
  });
  it('is down when no instance runs or none exists, and starting while all start', () => {
    expect(serviceHealth(service('timeline', instance('timeline-1', 'killed')))).toBe('down');
    expect(serviceHealth(service('timeline'))).toBe('down');
    expect(serviceHealth(service('timeline', instance('timeline-1', 'starting', 'unknown')))).toBe(
      'starting',
    );
  });
  it('is paused while an instance is paused, and not after', () => {
    const paused = service('tweets', {
      ...instance('tweets-1', 'running'),
      pausedUntil: new Date(10_000).toISOString(),
    });
    expect(serviceHealth(paused, 5_000)).toBe('paused');
    expect(serviceHealth(paused, 20_000)).toBe('healthy');
  });
});

describe('topology model', () => {
  const graph: ServiceGraph = {
    from: 0,
    to: 60_000,
    services: ['gateway', 'timeline', 'loadgen'],
    edges: [
      {
        client: 'gateway',
        server: 'timeline',
        requests: 120,
        ratePerSecond: 2,
        errors: 30,
        errorPercent: 25,
        latencyMs: { p50: 5, p95: 40, p99: 80 },
        unanswered: 0,
      },
      {
        client: 'loadgen',
        server: 'gateway',
        requests: 300,
        ratePerSecond: 5,
        errors: 0,
        errorPercent: 0,
        latencyMs: { p50: 9, p95: 20, p99: 30 },
        unanswered: 0,
      },
    ],
  };

  it('joins telemetry edges and breakers into one edge per caller→callee, worst breaker state first', () => {
    const { edges } = buildTopology(
      [
        service('gateway', instance('gateway-1', 'running')),
        service('timeline', instance('timeline-1', 'killed')),
      ],
      graph,
      [
        breaker('gateway', 'timeline', 'open'),
        { ...breaker('gateway', 'timeline', 'closed'), instanceId: 'gateway-2' },
        breaker('gateway', 'users', 'closed'),
      ],
    );
    const gt = edges.find((e) => e.id === 'gateway->timeline');
    expect(gt).toMatchObject({ ratePerSecond: 2, errorPercent: 25, p95: 40, breaker: 'open' });
    expect(gt?.breakers).toHaveLength(2);
    // A breaker with no traffic yet still draws its edge, with no latency to claim.
    expect(edges.find((e) => e.id === 'gateway->users')).toMatchObject({
      requests: 0,
      p95: null,
      breaker: 'closed',
    });
  });

  it('colours nodes by health and adds nodes seen only in telemetry', () => {
    const { nodes } = buildTopology(
      [
        service('gateway', instance('gateway-1', 'running')),
        service('timeline', instance('timeline-1', 'killed')),
      ],
      graph,
      [],
    );
    expect(nodes.find((n) => n.id === 'timeline')).toMatchObject({
      health: 'down',
      running: 0,
      total: 1,
      stateText: 'killed',
      inRate: 2,
      inErrorPercent: 25,
    });
    expect(nodes.find((n) => n.id === 'gateway')).toMatchObject({ health: 'healthy', inRate: 5 });
    expect(nodes.find((n) => n.id === 'loadgen')).toMatchObject({ health: 'unknown', total: 0 });
  });

  it('ranks breaker states: open beats forced-open beats half-open beats the closed ones', () => {
    expect(worstBreaker(['closed', 'half-open', 'forced-closed'])).toBe('half-open');
    expect(worstBreaker(['forced-open', 'open'])).toBe('open');
    expect(worstBreaker([])).toBeNull();
  });
});

/**
 * The topology as data: one node per service (from the cluster status and whatever the telemetry
 * graph saw), one edge per caller→callee pair (from the service graph's client spans and from the
 * breakers, which exist even before any traffic). Pure, so it is tested without a browser.
 */
import type {
  BreakerInfo,
  BreakerState,
  ServiceGraph,
  ServiceStatus,
} from '../../../../electron/api/index.ts';
import { serviceHealth, type Health } from '../../model/health.ts';

export interface TopoNode {
  id: string;
  health: Health | 'unknown';
  running: number;
  total: number;
  /** "running", "killed", "2 running · 1 exited"… */
  stateText: string;
  /** Requests per second into the service (sum of its incoming edges). */
  inRate: number;
  inErrorPercent: number;
}

export interface TopoEdge {
  id: string;
  source: string;
  target: string;
  ratePerSecond: number;
  errorPercent: number;
  p95: number | null;
  requests: number;
  /** The worst state among this edge's breakers (one per caller instance); null without breakers. */
  breaker: BreakerState | null;
  breakers: BreakerInfo[];
}

const BREAKER_RANK: Record<BreakerState, number> = {
  closed: 0,
  'forced-closed': 1,
  'half-open': 2,
  'forced-open': 3,
  open: 4,
};

export function worstBreaker(states: readonly BreakerState[]): BreakerState | null {
  let worst: BreakerState | null = null;
  for (const s of states) if (worst === null || BREAKER_RANK[s] > BREAKER_RANK[worst]) worst = s;
  return worst;
}

function stateText(service: ServiceStatus): string {
  const counts = new Map<string, number>();
  const now = Date.now();
  for (const i of service.instances) {
    const paused = i.pausedUntil !== undefined && Date.parse(i.pausedUntil) > now;
    const key = paused ? 'paused' : i.state === 'running' && i.health !== 'healthy' ? i.health : i.state;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return 'no instance';
  if (counts.size === 1 && service.instances.length === 1) return [...counts.keys()][0] ?? '';
  return [...counts].map(([state, n]) => `${n} ${state}`).join(' · ');
}

export function buildTopology(
  services: readonly ServiceStatus[],
  graph: ServiceGraph | null,
  breakers: readonly BreakerInfo[],
): { nodes: TopoNode[]; edges: TopoEdge[] } {
  const edges = new Map<string, TopoEdge>();
  const edgeFor = (source: string, target: string): TopoEdge => {
    const id = `${source}->${target}`;
    let edge = edges.get(id);
    if (!edge) {
      edge = {
        id,
        source,
        target,
        ratePerSecond: 0,
        errorPercent: 0,
        p95: null,
        requests: 0,
        breaker: null,
        breakers: [],
      };
      edges.set(id, edge);
    }
    return edge;
  };
  for (const e of graph?.edges ?? []) {
    if (e.client === e.server) continue;
    const edge = edgeFor(e.client, e.server);
    edge.ratePerSecond = e.ratePerSecond;
    edge.errorPercent = e.errorPercent;
    edge.p95 = e.requests > 0 ? e.latencyMs.p95 : null;
    edge.requests = e.requests;
  }
  for (const b of breakers) {
    const edge = edgeFor(b.caller, b.callee);
    edge.breakers.push(b);
  }
  for (const edge of edges.values()) edge.breaker = worstBreaker(edge.breakers.map((b) => b.state));

  const nodes = new Map<string, TopoNode>();
  for (const s of services) {
    const running = s.instances.filter((i) => i.state === 'running').length;
    nodes.set(s.name, {
      id: s.name,
      health: serviceHealth(s),
      running,
      total: s.instances.length,
      stateText: stateText(s),
      inRate: 0,
      inErrorPercent: 0,
    });
  }
  // Services seen only in telemetry (an external caller, a service not started) still get a node.
  for (const edge of edges.values()) {
    for (const id of [edge.source, edge.target]) {
      if (!nodes.has(id))
        nodes.set(id, {
          id,
          health: 'unknown',
          running: 0,
          total: 0,
          stateText: 'not running',
          inRate: 0,
          inErrorPercent: 0,
        });
    }
  }
  for (const edge of edges.values()) {
    const node = nodes.get(edge.target);
    if (!node) continue;
    const before = node.inRate;
    node.inRate += edge.ratePerSecond;
    node.inErrorPercent =
      node.inRate > 0
        ? (node.inErrorPercent * before + edge.errorPercent * edge.ratePerSecond) / node.inRate
        : 0;
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/**
 * Where each service sits: traffic flows left to right by call depth (loadgen → gateway → auth,
 * tweets → timeline, realtime → users), the registry below the gateway, placed so that no edge
 * crosses a node. A fixed layout keeps the picture still while the data moves, so an operator's
 * eye finds the same node in the same place every time.
 */
export const POSITIONS: Readonly<Record<string, { x: number; y: number }>> = {
  loadgen: { x: 0, y: 0 },
  gateway: { x: 240, y: 0 },
  registry: { x: 240, y: 280 },
  auth: { x: 500, y: -260 },
  tweets: { x: 500, y: 20 },
  timeline: { x: 760, y: -120 },
  realtime: { x: 760, y: 220 },
  users: { x: 1020, y: -280 },
};

export function positionFor(id: string, index: number): { x: number; y: number } {
  return POSITIONS[id] ?? { x: 1020, y: index * 100 };
}

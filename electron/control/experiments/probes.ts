/**
 * Probes: one measurement each (an HTTP answer through the gateway, an error rate or a latency
 * percentile from the telemetry store, a breaker's state from the services' admin routes),
 * compared with its tolerance. A probe that cannot measure (no telemetry in the window, a service
 * that does not answer) does not hold, and says why.
 */
import type { RedPoint } from '../../../telemetry/query/red.ts';
import type { ExperimentPorts } from './ports.ts';
import type { ProbeUser } from './probe-users.ts';
import { probeLabel, type Probe } from './schema.ts';

export interface ProbeResult {
  readonly probe: string;
  readonly ok: boolean;
  /** The measured figure (status code, percent, ms, or a breaker state). */
  readonly value: number | string | null;
  readonly unit: 'status' | '%' | 'ms' | 'state' | null;
  /** A sentence: what was measured against what. */
  readonly detail: string;
  /** The figure worth charting: an HTTP probe's latency, a percent, ms, a breaker state as 0-2. */
  readonly chart: number | null;
  readonly at: string;
  /** How long the measurement took, ms. */
  readonly tookMs: number;
}

export interface ProbeContext {
  readonly ports: ExperimentPorts;
  readonly gateway: string;
  readonly users: ReadonlyMap<string, ProbeUser>;
  readonly signal?: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly latencyMs: number;
  readonly degraded: boolean;
  readonly body: string;
}

/** One call through the gateway as a probe user or anonymously. Network failures throw. */
export async function callGateway(
  ctx: ProbeContext,
  call: { method: string; path: string; as: string; body?: unknown; timeoutMs?: number },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.as !== 'anonymous') {
    const user = ctx.users.get(call.as);
    if (!user) throw new Error(`no probe user "${call.as}"`);
    headers.authorization = `Bearer ${user.accessToken}`;
  }
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const signals = [AbortSignal.timeout(call.timeoutMs ?? 10_000), ...(ctx.signal ? [ctx.signal] : [])];
  const started = performance.now();
  const response = await (ctx.ports.fetch ?? fetch)(`${ctx.gateway}${call.path}`, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    signal: AbortSignal.any(signals),
    redirect: 'manual',
  });
  const body = await response.text();
  const latencyMs = performance.now() - started;
  let degraded = response.headers.has('x-chaoscope-degraded');
  if (!degraded && body.includes('"degraded"')) {
    try {
      degraded = (JSON.parse(body) as { degraded?: unknown }).degraded === true;
    } catch {
      // Not JSON: only the header counts.
    }
  }
  return { status: response.status, latencyMs, degraded, body };
}

export async function runProbe(ctx: ProbeContext, probe: Probe): Promise<ProbeResult> {
  const started = performance.now();
  const at = new Date().toISOString();
  const label = probeLabel(probe);
  const result = (r: Omit<ProbeResult, 'probe' | 'at' | 'tookMs'>): ProbeResult => ({
    probe: label,
    at,
    tookMs: Math.round(performance.now() - started),
    ...r,
  });
  try {
    switch (probe.type) {
      case 'http': {
        const answer = await callGateway(ctx, probe);
        const wanted = probe.expect;
        const misses: string[] = [];
        const statusOk = wanted.status
          ? wanted.status.includes(answer.status)
          : answer.status < 300 && answer.status >= 200;
        if (!statusOk) misses.push(`status ${answer.status}, wanted ${wanted.status?.join(' or ') ?? '2xx'}`);
        if (wanted.degraded !== undefined && answer.degraded !== wanted.degraded)
          misses.push(
            answer.degraded ? 'answer degraded, wanted a full one' : 'answer not degraded, wanted a fallback',
          );
        if (wanted.bodyIncludes !== undefined && !answer.body.includes(wanted.bodyIncludes))
          misses.push(`body lacks "${wanted.bodyIncludes}"`);
        if (wanted.maxLatencyMs !== undefined && answer.latencyMs > wanted.maxLatencyMs)
          misses.push(`took ${Math.round(answer.latencyMs)} ms, tolerance ${wanted.maxLatencyMs} ms`);
        const summary = `${answer.status}${answer.degraded ? ' degraded' : ''} in ${Math.round(answer.latencyMs)} ms`;
        return result({
          ok: misses.length === 0,
          value: answer.status,
          unit: 'status',
          chart: Math.round(answer.latencyMs * 10) / 10,
          detail: misses.length === 0 ? summary : `${summary}: ${misses.join('; ')}`,
        });
      }
      case 'error-rate':
      case 'latency': {
        const to = Date.now() - probe.settleMs;
        const from = to - probe.windowMs;
        const series = await ctx.ports.red({
          service: probe.service,
          ...(probe.route ? { route: probe.route } : {}),
          from,
          to,
          stepMs: probe.windowMs,
        });
        const point = series.points[0];
        const requests = point?.requests ?? 0;
        const where = `${probe.service}${probe.route ? ` ${probe.route}` : ''} over ${probe.windowMs / 1000} s`;
        if (requests < probe.minRequests) {
          return result({
            ok: false,
            value: null,
            unit: probe.type === 'latency' ? 'ms' : '%',
            chart: null,
            detail: `${requests} request(s) of ${where} in telemetry, need ${probe.minRequests}`,
          });
        }
        if (probe.type === 'error-rate') {
          const percent = point ? round(point.errorPercent) : 0;
          return result({
            ok: percent <= probe.maxPercent,
            value: percent,
            unit: '%',
            chart: percent,
            detail: `${percent}% errors (${point?.errors ?? 0} of ${requests}) in ${where}, tolerance ${probe.maxPercent}%`,
          });
        }
        const value = percentile(point, probe.percentile);
        return result({
          ok: value !== null && value <= probe.maxMs,
          value,
          unit: 'ms',
          chart: value,
          detail: `${probe.percentile} ${value ?? '-'} ms over ${requests} request(s) in ${where}, tolerance ${probe.maxMs} ms`,
        });
      }
      case 'breaker': {
        const copies = await ctx.ports.breakers(probe.breaker);
        if (copies.length === 0)
          return result({
            ok: false,
            value: null,
            unit: 'state',
            chart: null,
            detail: `no running instance holds ${probe.breaker}`,
          });
        const states = copies.map((c) => c.snapshot.state);
        const ok = states.every((s) => (probe.state as readonly string[]).includes(s));
        const shown = [...new Set(states)].join(', ');
        return result({
          ok,
          value: states[0]!,
          unit: 'state',
          chart: BREAKER_LEVEL[states[0]!] ?? null,
          detail: `${probe.breaker} is ${shown}${copies.length > 1 ? ` (${copies.length} instances)` : ''}; wanted ${probe.state.join(' or ')}`,
        });
      }
    }
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    return result({
      ok: false,
      value: null,
      unit: null,
      chart: null,
      detail: `could not measure: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

/** Breaker states on a chart's y axis: how much traffic the breaker lets through, inverted. */
export const BREAKER_LEVEL: Readonly<Record<string, number>> = {
  closed: 0,
  'forced-closed': 0,
  'half-open': 1,
  open: 2,
  'forced-open': 2,
};

function percentile(point: RedPoint | undefined, which: 'p50' | 'p90' | 'p95' | 'p99'): number | null {
  const value = point?.durationMs?.[which];
  return value === undefined ? null : round(value);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

import type { DuckDBValue } from '@duckdb/node-api';
import { z } from 'zod';
import type { Row, TelemetryReader } from '../store/reader.ts';
import { msToNs, parseParams, timeMs } from './params.ts';

const MAX_BUCKETS = 10_000;

export const redSchema = z
  .object({
    service: z.string().min(1),
    /** The `http.route` attribute of the server spans, e.g. "/api/timeline". */
    route: z.string().min(1).optional(),
    from: timeMs,
    to: timeMs,
    stepMs: z.number().positive(),
  })
  .strict()
  .refine((p) => p.to > p.from, { message: '`to` must be after `from`' })
  .refine((p) => (p.to - p.from) / p.stepMs <= MAX_BUCKETS, {
    message: `at most ${MAX_BUCKETS} steps per query: use a larger stepMs`,
  });

export type RedQuery = z.input<typeof redSchema>;

export interface RedPoint {
  /** Start of the step, Unix milliseconds. */
  readonly time: number;
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly errors: number;
  /** 0 when there were no requests. */
  readonly errorPercent: number;
  /** Server span durations in milliseconds, linearly interpolated; null when there were no requests. */
  readonly durationMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p95: number;
    readonly p99: number;
  } | null;
}

export interface RedSeries {
  readonly service: string;
  /** null: all of the service's server spans. */
  readonly route: string | null;
  readonly stepMs: number;
  /** One point per step from `from`, empty steps included, so charts need no gap logic. */
  readonly points: readonly RedPoint[];
}

/**
 * Rate, errors and duration over time from a service's server spans (the requests it answered),
 * optionally for one route. A span belongs to the step its start falls in; the last step may be
 * shorter than stepMs and its rate is per its own length.
 */
export async function red(reader: TelemetryReader, query: RedQuery): Promise<RedSeries> {
  const p = parseParams(redSchema, query, 'RED query');
  const series = await redSeries(reader, p.service, p.route ?? null, p.from, p.to, p.stepMs, false);
  const points = emptyPoints(p.from, p.to, p.stepMs);
  return series[0] ?? { service: p.service, route: p.route ?? null, stepMs: p.stepMs, points };
}

/** One RED series per route of the service (server spans without `http.route` are left out). */
export async function redByRoute(
  reader: TelemetryReader,
  query: Omit<RedQuery, 'route'>,
): Promise<RedSeries[]> {
  const p = parseParams(redSchema, query, 'RED query');
  return redSeries(reader, p.service, null, p.from, p.to, p.stepMs, true);
}

function emptyPoints(from: number, to: number, stepMs: number): RedPoint[] {
  const points: RedPoint[] = [];
  for (let i = 0; from + i * stepMs < to; i++) {
    points.push({
      time: from + i * stepMs,
      requests: 0,
      ratePerSecond: 0,
      errors: 0,
      errorPercent: 0,
      durationMs: null,
    });
  }
  return points;
}

async function redSeries(
  reader: TelemetryReader,
  service: string,
  route: string | null,
  from: number,
  to: number,
  stepMs: number,
  perRoute: boolean,
): Promise<RedSeries[]> {
  const fromNs = msToNs(from);
  const stepNs = msToNs(stepMs);
  const values: Record<string, DuckDBValue> = { service };
  let filter = `service = $service AND kind = 'server' AND start_ns >= ${fromNs} AND start_ns < ${msToNs(to)}`;
  if (route !== null) {
    filter += ' AND http_route = $route';
    values.route = route;
  }
  if (perRoute) filter += ' AND http_route IS NOT NULL';
  const group = perRoute ? 'http_route' : 'NULL';
  const rows = await reader.rows(
    `SELECT ${group} AS route, (start_ns - ${fromNs}) // ${stepNs} AS step, count(*) AS requests,
            count(*) FILTER (WHERE status = 'error') AS errors,
            quantile_cont(duration_ns::DOUBLE / 1e6, [0.5, 0.9, 0.95, 0.99]) AS q
     FROM spans WHERE ${filter}
     GROUP BY ALL ORDER BY route, step`,
    values,
  );
  const byRoute = new Map<string | null, Map<number, Row>>();
  for (const r of rows) {
    const key = perRoute ? (r.route as string) : route;
    let steps = byRoute.get(key);
    if (!steps) byRoute.set(key, (steps = new Map<number, Row>()));
    steps.set(Number(r.step), r);
  }
  return [...byRoute].map(([key, steps]) => ({
    service,
    route: key,
    stepMs,
    points: emptyPoints(from, to, stepMs).map((empty, i) => {
      const r = steps.get(i);
      if (!r) return empty;
      const requests = Number(r.requests);
      const errors = Number(r.errors);
      const q = r.q as number[];
      const seconds = (Math.min(to, empty.time + stepMs) - empty.time) / 1000;
      return {
        time: empty.time,
        requests,
        ratePerSecond: requests / seconds,
        errors,
        errorPercent: (100 * errors) / requests,
        durationMs: { p50: q[0]!, p90: q[1]!, p95: q[2]!, p99: q[3]! },
      };
    }),
  }));
}

import { z } from 'zod';
import type { TelemetryReader } from '../store/reader.ts';
import { msToNs, parseParams, timeMs } from './params.ts';

export const windowSchema = z
  .object({ from: timeMs, to: timeMs })
  .strict()
  .refine((w) => w.to > w.from, { message: '`to` must be after `from`' });

export type TimeWindow = z.input<typeof windowSchema>;

export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface ServiceEdge {
  readonly client: string;
  readonly server: string;
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly errors: number;
  readonly errorPercent: number;
  /** As the caller saw it (its span's duration), in milliseconds, linearly interpolated. */
  readonly latencyMs: LatencyPercentiles;
  /** Calls with no span from the callee at all: it was down, partitioned or never answered. */
  readonly unanswered: number;
}

export interface ServiceGraph {
  readonly from: number;
  readonly to: number;
  /** Every service that produced a span in the window, plus callees named only by callers. */
  readonly services: readonly string[];
  readonly edges: readonly ServiceEdge[];
}

/**
 * The service graph of a time window, from parent→child span pairs whose services differ (a
 * client span and the server span it caused). A call counts as an error when either side marked
 * its span as an error. A client span that names its callee in `peer.service` but has no child
 * from another service still makes an edge (counted as unanswered), so a killed service stays on
 * the map with its failures instead of vanishing from it.
 *
 * The load generator sends no trace context (it plays the people outside), so its calls are the
 * root server spans whose user agent is loadgen's: they make a loadgen→service edge, timed as the
 * callee saw them, so the entry of the cluster shows the traffic it takes.
 *
 * Both spans of a pair must start inside the window.
 */
const LOADGEN = "'loadgen'";
/** sample-cluster/services/loadgen/http.ts USER_AGENT (telemetry may not import the cluster). */
const LOADGEN_AGENT = 'chaoscope-loadgen';

export async function serviceGraph(reader: TelemetryReader, window: TimeWindow): Promise<ServiceGraph> {
  const { from, to } = parseParams(windowSchema, window, 'service graph window');
  const range = `start_ns >= ${msToNs(from)} AND start_ns < ${msToNs(to)}`;
  const rows = await reader.rows(
    `WITH s AS (
       SELECT trace_id, span_id, parent_span_id, service, kind, status, duration_ns, peer_service
       FROM spans WHERE ${range}
     ),
     pairs AS (
       SELECT p.service AS client, c.service AS server, p.duration_ns,
              (p.status = 'error' OR c.status = 'error') AS failed, false AS unanswered
       FROM s c JOIN s p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
       WHERE p.service <> c.service
       UNION ALL
       SELECT p.service, p.peer_service, p.duration_ns, p.status = 'error', true
       FROM s p
       WHERE p.kind = 'client' AND p.peer_service IS NOT NULL AND p.peer_service <> p.service
         AND NOT EXISTS (
           SELECT 1 FROM s c
           WHERE c.trace_id = p.trace_id AND c.parent_span_id = p.span_id AND c.service <> p.service
         )
       UNION ALL
       SELECT ${LOADGEN}, c.service, c.duration_ns, c.status = 'error', false
       FROM spans c
       WHERE ${range} AND c.parent_span_id IS NULL AND c.kind = 'server' AND c.service <> ${LOADGEN}
         AND json_extract_string(c.attributes, '$."user_agent.original"') LIKE '${LOADGEN_AGENT}%'
     )
     SELECT client, server, count(*) AS requests, count(*) FILTER (WHERE failed) AS errors,
            count(*) FILTER (WHERE unanswered) AS unanswered,
            quantile_cont(duration_ns::DOUBLE / 1e6, [0.5, 0.95, 0.99]) AS q
     FROM pairs GROUP BY client, server ORDER BY client, server`,
  );
  const seconds = (to - from) / 1000;
  const edges = rows.map((r): ServiceEdge => {
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    const q = r.q as number[];
    return {
      client: r.client as string,
      server: r.server as string,
      requests,
      ratePerSecond: requests / seconds,
      errors,
      errorPercent: (100 * errors) / requests,
      latencyMs: { p50: q[0]!, p95: q[1]!, p99: q[2]! },
      unanswered: Number(r.unanswered),
    };
  });
  const services = await reader.rows(`SELECT DISTINCT service FROM spans WHERE ${range}`);
  const names = new Set(services.map((r) => r.service as string));
  for (const e of edges) names.add(e.server);
  return { from, to, services: [...names].sort(), edges };
}

/**
 * Markers over a time window: the faults applied and rolled back, for every chart and trace view
 * to draw (the Metrics view, reports, `chaoscope markers`). Oldest first.
 */
import { z } from 'zod';
import type { TelemetryReader } from '../store/reader.ts';
import { msToNs, nsToMs, parseParams, timeMs } from './params.ts';

export const markersQuerySchema = z
  .object({
    from: timeMs,
    to: timeMs,
    /** Only markers that name this service. */
    service: z.string().min(1).max(100).optional(),
    limit: z.number().int().min(1).max(10_000).default(1_000),
  })
  .strict()
  .refine((q) => q.to > q.from, { message: '`to` must be after `from`' });
export type MarkersQuery = z.input<typeof markersQuerySchema>;

export interface StoredMarker {
  /** Unix milliseconds. */
  readonly time: number;
  readonly at: string;
  readonly kind: string;
  readonly phase: 'applied' | 'rolled-back' | 'failed';
  readonly faultId: string;
  readonly description: string;
  readonly services: readonly string[];
  readonly reason: string | null;
}

export async function listMarkers(reader: TelemetryReader, query: MarkersQuery): Promise<StoredMarker[]> {
  const q = parseParams(markersQuerySchema, query, 'markers query');
  const rows = await reader.rows(
    `SELECT time_ns, kind, phase, ref_id, description, services, reason FROM markers
      WHERE time_ns >= $from AND time_ns < $to
        ${q.service !== undefined ? 'AND list_contains(services, $service)' : ''}
      ORDER BY time_ns DESC LIMIT $limit`,
    {
      from: msToNs(q.from),
      to: msToNs(q.to),
      limit: q.limit,
      ...(q.service !== undefined ? { service: q.service } : {}),
    },
  );
  // The newest `limit` of them, handed out oldest first.
  return rows.reverse().map((r) => {
    const time = nsToMs(r.time_ns as bigint);
    return {
      time,
      at: new Date(time).toISOString(),
      kind: r.kind as string,
      phase: r.phase as StoredMarker['phase'],
      faultId: r.ref_id as string,
      description: r.description as string,
      services: (r.services as string[] | null) ?? [],
      reason: (r.reason as string | null) ?? null,
    };
  });
}

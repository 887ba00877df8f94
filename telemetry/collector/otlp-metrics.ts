import type { MetricPoint } from '../model/telemetry.ts';
import type { AttributeLimiter } from './attributes.ts';
import type { IngestTally } from './ingest-result.ts';
import { mapResource, type MappedResource } from './otlp-resource.ts';
import {
  METRIC_DATA_CASES,
  presentCase,
  type WireExponentialHistogramPoint,
  type WireHistogramPoint,
  type WireMetric,
  type WireMetricsRequest,
  type WireNumberPoint,
  type WireSummaryPoint,
} from './otlp-wire.ts';

const NUMBER_CASES = ['asDouble', 'asInt'] as const;
import { toNanos, toNumber } from './wire-values.ts';

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: a staleness marker, valid without a value. */
const NO_RECORDED_VALUE = 1;
/** An exponential histogram with more buckets than this is refused rather than expanded. */
const MAX_EXPONENTIAL_BUCKETS = 2048;

export function countDataPoints(request: WireMetricsRequest): number {
  let n = 0;
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) n += pointsOf(m)?.length ?? 0;
    }
  }
  return n;
}

function pointsOf(m: WireMetric): readonly unknown[] | null | undefined {
  switch (presentCase(m, METRIC_DATA_CASES)) {
    case 'gauge':
      return m.gauge?.dataPoints;
    case 'sum':
      return m.sum?.dataPoints;
    case 'histogram':
      return m.histogram?.dataPoints;
    case 'exponentialHistogram':
      return m.exponentialHistogram?.dataPoints;
    case 'summary':
      return m.summary?.dataPoints;
    default:
      return null;
  }
}

/**
 * OTLP metrics → model points. The model keeps gauge, sum and explicit-bucket histograms:
 * exponential histograms are expanded to explicit bounds, summaries keep count and sum.
 */
export function mapMetricsRequest(
  request: WireMetricsRequest,
  limiter: AttributeLimiter,
  tally: IngestTally,
): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = mapResource(rm.resource, limiter);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) mapMetric(metric, resource, limiter, tally, out);
    }
  }
  return out;
}

function mapMetric(
  metric: WireMetric,
  resource: MappedResource,
  limiter: AttributeLimiter,
  tally: IngestTally,
  out: MetricPoint[],
): void {
  const base = {
    service: resource.service,
    instance: resource.instance,
    name: limiter.string(metric.name ?? ''),
    unit: metric.unit ? limiter.string(metric.unit) : null,
  };
  const accept = (): boolean => {
    tally.received(resource.service);
    if (!base.name) {
      tally.reject(resource.service, 'metric without a name');
      return false;
    }
    return true;
  };
  const pushHistogram = (
    p: {
      timeUnixNano?: Parameters<typeof validTime>[0];
      attributes?: Parameters<AttributeLimiter['attributes']>[0];
    },
    histogram: NonNullable<MetricPoint['histogram']>,
  ): void => {
    const time = validTime(p.timeUnixNano, resource, tally);
    if (time === null) return;
    out.push({
      ...base,
      kind: 'histogram',
      timeUnixNano: time,
      value: null,
      histogram,
      attributes: limiter.attributes(p.attributes),
    });
  };
  const data = presentCase(metric, METRIC_DATA_CASES);
  switch (data) {
    case 'gauge':
    case 'sum': {
      const kind = data;
      for (const p of (kind === 'gauge' ? metric.gauge : metric.sum)?.dataPoints ?? []) {
        if (!accept()) continue;
        const value = numberValue(p);
        if (value === undefined) {
          tally.reject(resource.service, 'number data point without a value');
          continue;
        }
        const time = validTime(p.timeUnixNano, resource, tally);
        if (time === null) continue;
        out.push({
          ...base,
          kind,
          timeUnixNano: time,
          value,
          histogram: null,
          attributes: limiter.attributes(p.attributes),
        });
      }
      return;
    }
    case 'histogram':
      for (const p of metric.histogram?.dataPoints ?? []) {
        if (!accept()) continue;
        const histogram = explicitHistogram(p);
        if (!histogram) {
          tally.reject(resource.service, 'histogram with bucket counts that do not match its bounds');
          continue;
        }
        pushHistogram(p, histogram);
      }
      return;
    case 'exponentialHistogram':
      for (const p of metric.exponentialHistogram?.dataPoints ?? []) {
        if (!accept()) continue;
        const histogram = expandExponential(p);
        if (!histogram) {
          tally.reject(
            resource.service,
            `exponential histogram with more than ${MAX_EXPONENTIAL_BUCKETS} buckets`,
          );
          continue;
        }
        pushHistogram(p, histogram);
      }
      return;
    case 'summary':
      for (const p of metric.summary?.dataPoints ?? []) {
        if (!accept()) continue;
        const time = validTime(p.timeUnixNano, resource, tally);
        if (time === null) continue;
        out.push({
          ...base,
          kind: 'histogram',
          timeUnixNano: time,
          value: null,
          histogram: summaryHistogram(p),
          attributes: limiter.attributes(p.attributes),
        });
      }
      return;
    default:
      return;
  }
}

/** The spec says points with a zero timestamp SHOULD be rejected. */
function validTime(
  t: WireNumberPoint['timeUnixNano'],
  resource: MappedResource,
  tally: IngestTally,
): bigint | null {
  const time = toNanos(t);
  if (time === 0n) {
    tally.reject(resource.service, 'data point without a timestamp');
    return null;
  }
  return time;
}

/** `undefined`: invalid (no value and not flagged as having none); `null`: flagged as no value. */
function numberValue(p: WireNumberPoint): number | null | undefined {
  if ((p.flags ?? 0) & NO_RECORDED_VALUE) return null;
  switch (presentCase(p, NUMBER_CASES)) {
    case 'asDouble':
      return p.asDouble ?? 0;
    case 'asInt':
      return toNumber(p.asInt);
    default:
      return undefined;
  }
}

function explicitHistogram(p: WireHistogramPoint): MetricPoint['histogram'] | null {
  const bounds = [...(p.explicitBounds ?? [])];
  const counts = (p.bucketCounts ?? []).map((c) => toNumber(c));
  if (counts.length !== 0 && counts.length !== bounds.length + 1) return null;
  if (counts.length === 0 && bounds.length !== 0) return null;
  return { count: toNumber(p.count), sum: p.sum ?? null, bounds, counts };
}

function summaryHistogram(p: WireSummaryPoint): MetricPoint['histogram'] {
  return { count: toNumber(p.count), sum: p.sum ?? null, bounds: [], counts: [] };
}

/**
 * Exponential buckets as explicit ones, lowest first: the negative buckets (largest magnitude
 * first), the zero bucket, the positive buckets. Each explicit bound is the upper edge of a bucket;
 * the last bucket's edge is implied (+Inf). Counts stay exact; only the edges' open/closed ends
 * differ from the exponential definition.
 */
function expandExponential(p: WireExponentialHistogramPoint): MetricPoint['histogram'] | null {
  const positive = p.positive?.bucketCounts ?? [];
  const negative = p.negative?.bucketCounts ?? [];
  if (positive.length + negative.length > MAX_EXPONENTIAL_BUCKETS) return null;
  const base = 2 ** (2 ** -(p.scale ?? 0));
  const edges: number[] = [];
  const counts: number[] = [];
  const negOffset = p.negative?.offset ?? 0;
  for (let i = negative.length - 1; i >= 0; i -= 1) {
    edges.push(-(base ** (negOffset + i)));
    counts.push(toNumber(negative[i]));
  }
  edges.push(p.zeroThreshold ?? 0);
  counts.push(toNumber(p.zeroCount));
  const posOffset = p.positive?.offset ?? 0;
  for (let i = 0; i < positive.length; i += 1) {
    edges.push(base ** (posOffset + i + 1));
    counts.push(toNumber(positive[i]));
  }
  edges.pop();
  return { count: toNumber(p.count), sum: p.sum ?? null, bounds: edges, counts };
}

/**
 * A large trace sent the way a service sends one: spans made with the OpenTelemetry SDK (one
 * tracer provider per service, so the trace crosses services) and exported with the real
 * OTLP/HTTP protobuf exporter to the collector. Deterministic shape: a tree five wide per level
 * under a gateway root, times nested inside their parents, 1 % errors, a few span events.
 * Batches go one at a time and wait when the collector pushes back (429/503), as a well-behaved
 * exporter should: the point is to store the whole trace, not to test back-pressure.
 */
import { context, trace, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import { eventually, type Lab } from './support/lab.ts';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';

const SERVICES = ['gateway', 'timeline', 'users', 'tweets', 'auth', 'realtime', 'registry', 'users'] as const;
const OPERATIONS = [
  'GET /api/timeline',
  'read timeline',
  'SELECT follows',
  'GET /v1/tweets',
  'verify token',
  'push',
  'lookup',
  'SELECT users',
];

/** Send a trace of `count` spans to the collector at `otlpBase`; resolves with its trace id. */
export async function sendBigTrace(otlpBase: string, count: number): Promise<string> {
  const memory = new InMemorySpanExporter();
  const providers = new Map<string, TracerProvider>();
  const provider = (service: string) => {
    let p = providers.get(service);
    if (!p) {
      p = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-1` }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
      });
      providers.set(service, p);
    }
    return p;
  };

  const start = Date.now() - 5_000;
  const totalMs = 4_000;
  let made = 0;
  // Breadth-first: every level five times wider, until `count` spans exist.
  type Pending = { span: Span; depth: number; from: number; to: number };
  const make = (parent: Pending | null, depth: number, from: number, to: number): Pending => {
    const service = SERVICES[depth % SERVICES.length]!;
    const tracer = provider(service).getTracer('chaoscope-bench');
    const ctx = parent ? trace.setSpan(context.active(), parent.span) : context.active();
    const span = tracer.startSpan(
      `${OPERATIONS[depth % OPERATIONS.length]!}`,
      {
        kind: depth === 0 ? SpanKind.SERVER : depth % 2 === 1 ? SpanKind.CLIENT : SpanKind.SERVER,
        startTime: from,
        attributes: { 'bench.index': made, 'bench.depth': depth, 'http.route': `/bench/${depth}` },
      },
      ctx,
    );
    made++;
    if (made % 100 === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'synthetic failure' });
    if (made % 250 === 0) span.addEvent('fault.applied', { 'fault.kind': 'latency' }, from + (to - from) / 2);
    return { span, depth, from, to };
  };

  const root = make(null, 0, start, start + totalMs);
  let level: Pending[] = [root];
  const all: Pending[] = [root];
  while (made < count && level.length > 0) {
    const next: Pending[] = [];
    for (const parent of level) {
      const width = 5;
      const slot = (parent.to - parent.from) / width;
      for (let k = 0; k < width && made < count; k++) {
        const from = parent.from + k * slot + slot * 0.05;
        const child = make(parent, parent.depth + 1, from, from + slot * 0.9);
        next.push(child);
        all.push(child);
      }
      if (made >= count) break;
    }
    level = next;
  }
  for (const p of all) p.span.end(p.to);
  await exportInBatches(otlpBase, memory.getFinishedSpans(), 2_000);
  await Promise.all([...providers.values()].map((p) => p.shutdown()));
  return root.span.spanContext().traceId;
}

async function exportInBatches(
  otlpBase: string,
  spans: readonly ReadableSpan[],
  size: number,
): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: `${otlpBase}/v1/traces`, timeoutMillis: 60_000 });
  for (let i = 0; i < spans.length; i += size) {
    const batch = spans.slice(i, i + size);
    for (let attempt = 0; ; attempt++) {
      const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) =>
        exporter.export(batch, resolve),
      );
      if (result.code === ExportResultCode.SUCCESS) break;
      if (attempt >= 20) throw result.error ?? new Error('export failed');
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
  }
  await exporter.shutdown();
}

/** Sends a big trace and waits until the store answers it whole (every span counted); its id. */
export async function sendBigTraceStored(lab: Lab, count: number, timeoutMs: number): Promise<string> {
  const traceId = await sendBigTrace(lab.plane.collectorUrl, count);
  await eventually(
    async () => {
      const t = await lab.invoke('traces.search', {
        service: 'gateway',
        limit: 5,
        sort: 'longest',
        minDurationMs: 3_000,
      });
      return t.traces.find((x) => x.traceId === traceId && x.spanCount === count);
    },
    `all ${count} spans stored`,
    timeoutMs,
  );
  return traceId;
}

/**
 * `node bench/telemetry-collector.ts`: what the collector's HTTP path costs over merely decoding.
 *
 * The payload is what the OpenTelemetry SDK's OTLP protobuf exporter sends: 512-span batches (its
 * default batch size), 10 attributes per span, serialized by @opentelemetry/otlp-transformer. Rates,
 * in spans per second on one core (Node's main thread; one process):
 * - decode: protobuf → wire objects (protobufjs), nothing else;
 * - decodeAndMap: plus the mapping to the model's SpanRecord under the limits;
 * - ingest: the whole pipeline without HTTP (content type, decode, map, append to a no-op sink);
 * - http: real HTTP POSTs from a separate client process into the collector with a no-op sink.
 *   The client's CPU is not ours; `perMainThreadSecond` divides by the time the collector's event
 *   loop was busy, so it is the one-core capacity even when the load did not saturate it.
 * Prints JSON. BENCH_SECONDS (default 4) per phase, BENCH_CONCURRENCY (default 4) client requests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { request, type Agent } from 'undici';
import type { TelemetrySink } from '../telemetry/model/telemetry.ts';
import { AttributeLimiter } from '../telemetry/collector/attributes.ts';
import { createCollector } from '../telemetry/collector/collector.ts';
import { StatsRecorder } from '../telemetry/collector/collector-stats.ts';
import { ingest } from '../telemetry/collector/ingest.ts';
import { IngestTally } from '../telemetry/collector/ingest-result.ts';
import { collectorLimitsSchema } from '../telemetry/collector/limits.ts';
import { decodeTraceRequestProto } from '../telemetry/collector/otlp-protobuf.ts';
import { mapTraceRequest } from '../telemetry/collector/otlp-traces.ts';
import { otlpTraces } from '../telemetry/collector/receivers.ts';
import { closedLoop, round } from './load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const BATCH = 512;
const PROTO = { 'content-type': 'application/x-protobuf' };

/** 512 spans as a service makes them: traces of a server span and its client calls, 10 attributes each. */
async function sdkBatch(): Promise<Uint8Array> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'timeline', 'service.instance.id': 'timeline-1' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.301.0');
  for (let t = 0; t < BATCH / 4; t += 1) {
    const server = tracer.startSpan('GET /timeline/:user', {
      kind: SpanKind.SERVER,
      attributes: attributes(t, 'server'),
    });
    const parent = trace.setSpan(context.active(), server);
    for (const callee of ['tweets', 'users', 'registry']) {
      const client = tracer.startSpan(
        `GET ${callee}`,
        { kind: SpanKind.CLIENT, attributes: attributes(t, callee) },
        parent,
      );
      if (t % 10 === 0) client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 503' });
      client.end();
    }
    server.end();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  if (spans.length !== BATCH) throw new Error(`expected ${BATCH} spans, made ${spans.length}`);
  const payload = ProtobufTraceSerializer.serializeRequest(spans);
  if (!payload) throw new Error('the serializer produced nothing');
  return payload;
}

function attributes(i: number, peer: string) {
  return {
    'http.request.method': 'GET',
    'http.route': '/timeline/:user',
    'url.path': `/timeline/user-${i}`,
    'http.response.status_code': 200,
    'server.address': `${peer}.chaoscope.local`,
    'server.port': 8080 + (i % 7),
    'network.protocol.version': '1.1',
    'user_agent.original': 'chaoscope-loadgen/0.1',
    'chaoscope.cache.hit': i % 3 === 0,
    'chaoscope.retry.ratio': (i % 10) / 10,
  };
}

/** Runs `work` (which handles `perCall` spans) for SECONDS after a warm-up; spans per second. */
function rate(work: () => void, perCall: number): number {
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) work();
  let calls = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  while (performance.now() < deadline) {
    work();
    calls += 1;
  }
  return Math.round((calls * perCall) / ((performance.now() - started) / 1000));
}

async function asyncRate(work: () => Promise<void>, perCall: number): Promise<number> {
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) await work();
  let calls = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  while (performance.now() < deadline) {
    await work();
    calls += 1;
  }
  return Math.round((calls * perCall) / ((performance.now() - started) / 1000));
}

class NoopSink implements TelemetrySink {
  spans = 0;
  async appendSpans(spans: readonly unknown[]): Promise<void> {
    this.spans += spans.length;
  }
  async appendMetrics(): Promise<void> {}
  async appendLogs(): Promise<void> {}
  pressure() {
    return { accepting: true, retryAfterSeconds: 0 };
  }
}

/** The load generator, in its own process so its CPU is not the collector's. */
async function client(url: string, payloadFile: string): Promise<void> {
  const body = readFileSync(payloadFile);
  const result = await closedLoop(
    async (dispatcher: Agent) => {
      const res = await request(url, { method: 'POST', body, headers: PROTO, dispatcher });
      await res.body.dump();
      return res.statusCode;
    },
    { concurrency: CONCURRENCY, seconds: SECONDS },
  );
  process.stdout.write(JSON.stringify(result));
}

async function runClient(url: string, payloadFile: string): Promise<{ requests: number; errors: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', url, payloadFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the load client exited with ${code}`);
  return JSON.parse(out) as { requests: number; errors: number };
}

async function main(): Promise<void> {
  const payload = await sdkBatch();
  const limits = collectorLimitsSchema.parse({});

  const decode = rate(() => void decodeTraceRequestProto(payload), BATCH);
  const decodeAndMap = rate(() => {
    mapTraceRequest(decodeTraceRequestProto(payload), new AttributeLimiter(limits), new IngestTally());
  }, BATCH);
  const noop = new NoopSink();
  const ctx = { sink: noop, limits, stats: new StatsRecorder() };
  const body = Buffer.from(payload);
  const ingestRate = await asyncRate(async () => {
    const answer = await ingest(otlpTraces, ctx, {
      body,
      contentType: PROTO['content-type'],
      contentEncoding: undefined,
    });
    if (answer.status !== 200) throw new Error(`ingest answered ${answer.status}`);
  }, BATCH);

  const sink = new NoopSink();
  const collector = await createCollector({ sink, otlpPort: 0, jaegerPort: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'chaoscope-collector-bench-'));
  let http;
  try {
    const payloadFile = join(dir, 'batch.pb');

    writeFileSync(payloadFile, payload);
    const url = `${collector.otlpUrl}/v1/traces`;
    const spansBefore = sink.spans;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const load = await runClient(url, payloadFile);
    const seconds = (performance.now() - t0) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const spans = sink.spans - spansBefore;
    http = {
      requests: load.requests,
      errors: load.errors,
      spansPerSecond: Math.round(spans / seconds),
      eventLoopUtilization: round(elu.utilization),
      perMainThreadSecond: Math.round(spans / (elu.active / 1000)),
      perProcessCpuSecond: Math.round(spans / ((cpu.user + cpu.system) / 1e6)),
    };
  } finally {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }

  process.stdout.write(
    `${JSON.stringify(
      {
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
        payload: {
          spans: BATCH,
          attributesPerSpan: 10,
          bytes: payload.length,
          encoding: 'protobuf (OTLP SDK serializer)',
        },
        secondsPerPhase: SECONDS,
        clientConcurrency: CONCURRENCY,
        spansPerSecond: { decode, decodeAndMap, ingest: ingestRate, http: http.perMainThreadSecond },
        http,
        ratios: {
          httpOverDecode: round(http.perMainThreadSecond / decode),
          httpOverDecodeAndMap: round(http.perMainThreadSecond / decodeAndMap),
          ingestOverDecode: round(ingestRate / decode),
        },
      },
      null,
      2,
    )}\n`,
  );
}

if (process.argv[2] === '--client') {
  await client(process.argv[3]!, process.argv[4]!);
} else {
  await main();
}

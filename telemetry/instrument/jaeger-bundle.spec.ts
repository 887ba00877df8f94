import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { createCollector } from '../collector/collector.ts';
import { RecordingSink, eventually } from '../collector/test-support.ts';
import { JAEGER_BUNDLE_FILE, bundleJaegerExporter } from './jaeger-bundle.ts';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** No node_modules in `dir` or any directory above it: a require from there finds nothing. */
function noNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return false;
    if (d === parse(d).root) return true;
  }
}

describe('the Jaeger exporter as a file of its own (container images ship bundles only)', () => {
  it('loads from a directory with no node_modules and sends spans the Jaeger receiver reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaoscope-jaeger-bundle-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    expect(noNodeModulesAbove(dir)).toBe(true);
    const files = await bundleJaegerExporter(dir);
    expect(files).toEqual(expect.arrayContaining([JAEGER_BUNDLE_FILE, 'jaeger-idl/thrift/jaeger.thrift']));

    const sink = new RecordingSink();
    const collector = await createCollector({ sink, otlpPort: 0, jaegerPort: 0 });
    cleanups.push(() => collector.close());
    // Required from the temp directory: anything not inside the bundle would fail to resolve.
    const { JaegerExporter } = createRequire(join(dir, 'x.js'))(`./${JAEGER_BUNDLE_FILE}`) as {
      JaegerExporter: new (options: { endpoint: string }) => SpanExporter;
    };
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'timeline', 'service.instance.id': 'timeline-1' }),
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: new JaegerExporter({ endpoint: collector.jaegerUrl }) }),
      ],
    });
    cleanups.push(() => provider.shutdown());
    const span = provider.getTracer('t').startSpan('GET /timeline/:user', {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/timeline/:user' },
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    span.end();
    await provider.forceFlush();

    await eventually(() => sink.spans.length === 1, 'the span at the Jaeger receiver');
    expect(sink.spans[0]).toMatchObject({
      service: 'timeline',
      instance: 'timeline-1',
      name: 'GET /timeline/:user',
      kind: 'server',
      statusCode: 'error',
      statusMessage: 'boom',
      attributes: { 'http.route': '/timeline/:user' },
    });
  }, 60_000);
});

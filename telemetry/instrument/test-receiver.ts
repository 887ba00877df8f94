/**
 * Test support: a real HTTP server that takes OTLP/HTTP JSON (what the `otlp-json` exporters send),
 * keeps the decoded bodies and flattens them into spans, metric names and log records. Protobuf
 * bodies are counted, not decoded (the collector in telemetry/collector does that).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type Decoded = string | number | boolean | null | Decoded[] | { [key: string]: Decoded };

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's numbers: 2 server, 3 client. */
  readonly kind: number;
  readonly status: { readonly code: number; readonly message: string };
  readonly attributes: Record<string, Decoded>;
  readonly resource: Record<string, Decoded>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, Decoded> }>;
}

export interface ReceivedLog {
  readonly body: Decoded;
  readonly severityText: string;
  readonly eventName: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Record<string, Decoded>;
  readonly resource: Record<string, Decoded>;
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly resource: Record<string, Decoded>;
  readonly points: ReadonlyArray<{ readonly attributes: Record<string, Decoded>; readonly value: number }>;
}

const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;
export { SPAN_KIND };

export class OtlpJsonReceiver {
  readonly requests: Array<{ path: string; contentType: string; body: unknown }> = [];
  readonly #server: Server;
  url = '';

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpJsonReceiver> {
    const receiver = new OtlpJsonReceiver(
      createServer((request, response) => {
        void receiver.#take(request).then(
          (json) =>
            json
              ? response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
              : response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(),
          () => response.writeHead(400).end(),
        );
      }),
    );
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.#server.address() as AddressInfo;
    receiver.url = `http://127.0.0.1:${port}`;
    return receiver;
  }

  /** True when the body was JSON (answered in JSON; an empty protobuf answer otherwise). */
  async #take(request: IncomingMessage): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    const contentType = String(request.headers['content-type'] ?? '');
    const body: unknown = contentType.includes('json') ? JSON.parse(raw.toString('utf8')) : raw;
    this.requests.push({ path: request.url ?? '', contentType, body });
    return contentType.includes('json');
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #bodies(path: string): Array<Record<string, unknown>> {
    return this.requests
      .filter((r) => r.path === path && r.contentType.includes('json'))
      .map((r) => r.body as Record<string, unknown>);
  }

  spans(): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (const body of this.#bodies('/v1/traces'))
      for (const rs of list(body.resourceSpans)) {
        const resource = attributes(field(rs, 'resource').attributes);
        for (const ss of list(rs.scopeSpans))
          for (const s of list(ss.spans)) {
            const status = field(s, 'status');
            out.push({
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              parentSpanId: text(s.parentSpanId),
              name: String(s.name),
              kind: Number(s.kind),
              status: { code: Number(status.code ?? 0), message: text(status.message) },
              attributes: attributes(s.attributes),
              resource,
              events: list(s.events).map((e) => ({
                name: String(e.name),
                attributes: attributes(e.attributes),
              })),
            });
          }
      }
    return out;
  }

  logs(): ReceivedLog[] {
    const out: ReceivedLog[] = [];
    for (const body of this.#bodies('/v1/logs'))
      for (const rl of list(body.resourceLogs)) {
        const resource = attributes(field(rl, 'resource').attributes);
        for (const sl of list(rl.scopeLogs))
          for (const l of list(sl.logRecords))
            out.push({
              body: l.body ? anyValue(l.body as Record<string, unknown>) : null,
              severityText: text(l.severityText),
              eventName: text(l.eventName),
              traceId: text(l.traceId),
              spanId: text(l.spanId),
              attributes: attributes(l.attributes),
              resource,
            });
      }
    return out;
  }

  metrics(): ReceivedMetric[] {
    const out: ReceivedMetric[] = [];
    for (const body of this.#bodies('/v1/metrics'))
      for (const rm of list(body.resourceMetrics)) {
        const resource = attributes(field(rm, 'resource').attributes);
        for (const sm of list(rm.scopeMetrics))
          for (const m of list(sm.metrics)) {
            const data = field(m, 'gauge').dataPoints
              ? field(m, 'gauge')
              : field(m, 'sum').dataPoints
                ? field(m, 'sum')
                : field(m, 'histogram');
            out.push({
              name: String(m.name),
              unit: text(m.unit),
              resource,
              points: list(data.dataPoints).map((p) => ({
                attributes: attributes(p.attributes),
                value: Number(p.asDouble ?? p.asInt ?? p.count ?? 0),
              })),
            });
          }
      }
    return out;
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function list(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
}

function field(value: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = value[name];
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

function attributes(value: unknown): Record<string, Decoded> {
  const out: Record<string, Decoded> = {};
  for (const kv of list(value)) out[String(kv.key)] = anyValue(field(kv, 'value'));
  return out;
}

function anyValue(v: Record<string, unknown>): Decoded {
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return list(field(v, 'arrayValue').values).map(anyValue);
  if ('kvlistValue' in v) return attributes(field(v, 'kvlistValue').values);
  return null;
}

/**
 * The cluster's own telemetry: every service (bundled, as the process runtime runs them) exports
 * OTLP JSON to a real receiver in this test, and a home-timeline read is one trace across gateway,
 * timeline, tweets and users.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../sample-cluster/cluster.ts';
import { OtlpJsonReceiver, SPAN_KIND, type ReceivedSpan } from '../../telemetry/instrument/test-receiver.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { api, eventually } from './http.ts';
import { login } from './oauth-client.ts';

let receiver: OtlpJsonReceiver;
let cluster: TestCluster;
let reader: string;

beforeAll(async () => {
  receiver = await OtlpJsonReceiver.start();
  const otel = {
    OTEL_EXPORTER: 'otlp-json',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRIC_EXPORT_INTERVAL: '500',
  };
  cluster = await startCluster({
    serviceEnv: Object.fromEntries(SERVICE_NAMES.map((name) => [name, otel])),
  });
  const g = cluster.gateway;
  for (const handle of ['tr_reader', 'tr_writer'])
    await api(g, 'POST', '/api/accounts', {
      body: { handle, password: `${handle}-password`, displayName: handle },
    });
  reader = (await login(g, 'tr_reader', 'tr_reader-password')).accessToken;
  const writer = (await login(g, 'tr_writer', 'tr_writer-password')).accessToken;
  await api(g, 'PUT', '/api/users/tr_writer/follow', { token: reader });
  await api(g, 'POST', '/api/tweets', { token: writer, body: { text: 'traced' } });
  await eventually(
    () => timeline(),
    (r) => (r.body.items?.length ?? 0) > 0,
  );
});

afterAll(async () => {
  await cluster?.stop();
  await receiver?.close();
});

interface Page {
  items?: unknown[];
  degraded: boolean;
}

const timeline = (headers: Record<string, string> = {}) =>
  api<Page>(cluster.gateway, 'GET', '/api/timeline?limit=20', { token: reader, headers });

const service = (span: ReceivedSpan) => span.resource['service.name'];

describe('cluster tracing', () => {
  it('makes a home-timeline read one trace: gateway → timeline, tweets, users', async () => {
    const traceId = 'f1e2d3c4b5a697881122334455667788';
    const page = await timeline({ traceparent: `00-${traceId}-1122334455667788-01` });
    expect(page.status).toBe(200);
    expect(page.body.degraded).toBe(false);

    const spans = await eventually(
      async () => receiver.spans().filter((s) => s.traceId === traceId),
      (s) => s.filter((x) => x.kind === SPAN_KIND.SERVER).length >= 4,
      10_000,
    );
    const root = spans.find((s) => service(s) === 'gateway' && s.kind === SPAN_KIND.SERVER);
    expect(root).toMatchObject({
      parentSpanId: '1122334455667788',
      name: 'GET /api/timeline',
      attributes: { 'http.route': '/api/timeline', 'http.response.status_code': 200 },
    });
    for (const callee of ['timeline', 'tweets', 'users']) {
      const client = spans.find(
        (s) =>
          s.kind === SPAN_KIND.CLIENT && service(s) === 'gateway' && s.attributes['peer.service'] === callee,
      );
      expect(client, `gateway's call to ${callee}`).toMatchObject({
        parentSpanId: root!.spanId,
        attributes: { 'breaker.name': `gateway:${callee}`, 'chaoscope.degraded': false },
      });
      const server = spans.find((s) => s.kind === SPAN_KIND.SERVER && service(s) === callee);
      // The callee continued the trace from the traceparent the gateway sent.
      expect(server, `${callee}'s server span`).toMatchObject({
        parentSpanId: client!.spanId,
        attributes: { 'chaoscope.caller': 'gateway', 'http.response.status_code': 200 },
        resource: { 'service.instance.id': `${callee}-1` },
      });
      expect(server!.resource['chaoscope.cluster.id']).toBeTruthy();
    }
  });

  it('exports HTTP durations from every service and instance counts from the registry', async () => {
    const serversIn = (metrics: ReturnType<OtlpJsonReceiver['metrics']>) =>
      new Set(
        metrics
          .filter((m) => m.name === 'http.server.request.duration')
          .map((m) => m.resource['service.name']),
      );
    const wanted = ['registry', 'auth', 'gateway', 'timeline', 'tweets', 'users'];
    const metrics = await eventually(
      async () => receiver.metrics(),
      (m) =>
        m.some((x) => x.name === 'chaoscope.registry.instances') &&
        wanted.every((name) => serversIn(m).has(name)),
      // A service exports its first HTTP durations only after it served a request and its export
      // interval passed; on a busy 2-core machine that took longer than 10 s once.
      30_000,
    );
    expect([...serversIn(metrics)]).toEqual(expect.arrayContaining(wanted));
    const instances = metrics.filter((m) => m.name === 'chaoscope.registry.instances').at(-1)!;
    expect(instances.points).toContainEqual({ attributes: { 'registry.service': 'gateway' }, value: 1 });
  });

  it('exports and logs no secret: no token, password, private key, admin or enrollment credential', async () => {
    // Exercise the other trust modes too: the shared secret and the OAuth client credentials.
    const auth = (await cluster.instance('auth')).address;
    const setMode = (mode: string) =>
      api(`http://${auth}`, 'PUT', '/admin/auth/mode', { token: cluster.adminToken, body: { mode } });
    for (const mode of ['jwt-secret', 'oauth', 'mtls']) {
      expect((await setMode(mode)).status).toBe(200);
      await eventually(
        () => timeline(),
        (r) => r.status === 200,
        15_000,
      );
    }
    const trust = JSON.parse(
      readFileSync(join(cluster.runtime.paths.dir, 'trust', 'trust.json'), 'utf8'),
    ) as { caKeyPem: string; enrollSecret: string };
    const secrets: Record<string, string> = {
      'the admin token': cluster.adminToken,
      "a user's access token": reader,
      "a user's password": 'tr_reader-password',
      'the enrollment secret': trust.enrollSecret,
      "the CA's private key": trust.caKeyPem.split('\n')[1]!,
    };
    const patterns: Record<string, RegExp> = {
      'a private key': /PRIVATE KEY-----/,
      'a bearer credential': /Bearer [A-Za-z0-9._~+/-]{16,}/,
      'a JWT': /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
    };
    await new Promise((r) => setTimeout(r, 1_500)); // the last export rounds
    const logFiles = readdirSync(cluster.runtime.paths.logsDir).map((f) =>
      join(cluster.runtime.paths.logsDir, f),
    );
    const places: Record<string, string> = {
      'exported spans': JSON.stringify(receiver.spans()),
      'exported log records': JSON.stringify(receiver.logs()),
      'exported metrics': JSON.stringify(receiver.metrics()),
      ...Object.fromEntries(logFiles.map((f) => [f, readFileSync(f, 'utf8')])),
    };
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [what, value] of Object.entries(secrets))
        if (text.includes(value)) leaks.push(`${what} in ${where}`);
      for (const [what, pattern] of Object.entries(patterns))
        if (pattern.test(text)) leaks.push(`${what} in ${where}`);
    }
    expect(leaks).toEqual([]);
    expect(receiver.spans().length).toBeGreaterThan(0);
    expect(logFiles.length).toBeGreaterThan(0);
  }, 120_000);

  // Last: it leaves timeline dead, and a dead service exports nothing the tests above wait for.
  it('reports the timeline breaker opening, as a span event and a log record, once timeline is killed', async () => {
    await cluster.runtime.kill('timeline');
    for (let i = 0; i < 6; i++) expect((await timeline()).body.degraded).toBe(true);

    const transition = await eventually(
      async () =>
        receiver
          .logs()
          .find(
            (l) =>
              l.eventName === 'breaker.transition' &&
              l.attributes['breaker.name'] === 'gateway:timeline' &&
              l.attributes['breaker.to'] === 'open',
          ),
      (l) => l !== undefined,
      10_000,
    );
    expect(transition).toMatchObject({
      attributes: { 'breaker.from': 'closed', 'event.name': 'breaker.transition' },
      resource: { 'service.name': 'gateway' },
    });
    const opener = await eventually(
      async () => receiver.spans().find((s) => s.spanId === transition!.spanId),
      (s) => s !== undefined,
      10_000,
    );
    expect(opener).toMatchObject({ kind: SPAN_KIND.CLIENT, attributes: { 'peer.service': 'timeline' } });
    expect(opener!.events.find((e) => e.name === 'breaker.transition')?.attributes).toMatchObject({
      'breaker.name': 'gateway:timeline',
      'breaker.to': 'open',
    });
    // Calls refused by the open breaker are spans too, marked degraded (served from the fallback).
    const refused = await eventually(
      async () =>
        receiver
          .spans()
          .find(
            (s) => s.attributes['peer.service'] === 'timeline' && s.attributes['breaker.state'] === 'open',
          ),
      (s) => s !== undefined,
      10_000,
    );
    expect(refused).toMatchObject({ status: { code: 2 }, attributes: { 'chaoscope.degraded': true } });

    const state = await eventually(
      async () =>
        receiver
          .metrics()
          .filter((m) => m.name === 'chaoscope.breaker.state' && m.resource['service.name'] === 'gateway')
          .at(-1)
          ?.points.find((p) => p.attributes['breaker.name'] === 'gateway:timeline')?.value,
      (v) => v === 2,
      10_000,
    );
    expect(state).toBe(2);
  });
});

/**
 * The insight commands through a real control plane: `traces.outline` and `traces.span` over
 * spans sent as OTLP/HTTP JSON to its real collector (a tree with an orphan, an error, events and
 * a link), checked against `traces.get`; `registry.list` and `registry.deregister` (and the CLI's
 * `registry --json`) against a real process cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/control-plane.ts';
import type { CommandOutput } from '../../electron/api/commands.ts';
import { planeClient, waitFor } from './plane-client.ts';
import { planeHome } from './plane-home.ts';
import { unpackOutline } from '../../renderer/src/components/trace/outline.ts';

/** Clear of the other tiers' gateways (18080, 18180, 18280, 18380, 18580). */
const GATEWAY_PORT = 18_680;

const lab = planeHome('cs-insight-');
let plane: ControlPlane;
const { invoke, refused } = planeClient(() => plane);
const eventually = <T>(check: () => Promise<T | null | undefined | false>, what: string, ms = 90_000) =>
  waitFor(check, what, ms);

beforeAll(async () => {
  plane = await lab.open();
  await invoke('settings.set', { gatewayPort: GATEWAY_PORT, runtime: 'process' });
}, 120_000);

afterAll(() => lab.cleanUp(plane), 120_000);

// --- traces.outline / traces.span ---------------------------------------------------------------

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const id = (n: number) => n.toString(16).padStart(16, '0');
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const at = (ms: number) => String(T0 + BigInt(Math.round(ms * 1e6)));

/** OTLP JSON for one trace over two services: a root, children, an error, events, a link, an orphan. */
function otlpTrace() {
  const span = (
    n: number,
    parent: number | null,
    name: string,
    from: number,
    to: number,
    extra: Record<string, unknown> = {},
  ) => ({
    traceId: TRACE,
    spanId: id(n),
    ...(parent !== null ? { parentSpanId: id(parent) } : {}),
    name,
    kind: 2,
    startTimeUnixNano: at(from),
    endTimeUnixNano: at(to),
    attributes: [{ key: 'test.n', value: { intValue: String(n) } }],
    ...extra,
  });
  const resource = (service: string) => ({
    attributes: [
      { key: 'service.name', value: { stringValue: service } },
      { key: 'service.instance.id', value: { stringValue: `${service}-1` } },
    ],
  });
  return {
    resourceSpans: [
      {
        resource: resource('gateway'),
        scopeSpans: [
          {
            scope: { name: 'insight-test' },
            spans: [
              span(1, null, 'GET /api/timeline', 0, 100),
              span(2, 1, 'call timeline', 5, 80, {
                events: [
                  {
                    timeUnixNano: at(10),
                    name: 'breaker.transition',
                    attributes: [{ key: 'to', value: { stringValue: 'open' } }],
                  },
                ],
              }),
            ],
          },
        ],
      },
      {
        resource: resource('timeline'),
        scopeSpans: [
          {
            scope: { name: 'insight-test' },
            spans: [
              span(3, 2, 'read timeline', 10, 70, {
                status: { code: 2, message: 'users down' },
                links: [{ traceId: TRACE, spanId: id(1), attributes: [] }],
              }),
              span(4, 3, 'SELECT home', 12, 20),
              span(5, 99, 'late work', 30, 40),
            ],
          },
        ],
      },
    ],
  };
}

describe('traces.outline and traces.span', () => {
  beforeAll(async () => {
    const response = await fetch(`${plane.collectorUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpTrace()),
    });
    expect(response.status).toBe(200);
    await eventually(
      async () => (await invoke('traces.get', { traceId: TRACE })).spans.length === 5,
      'the spans stored',
    );
  });

  it('gives the tree and timings of traces.get, packed, without attributes', async () => {
    const whole = await invoke('traces.get', { traceId: TRACE });
    const outline = await invoke('traces.outline', { traceId: TRACE.toUpperCase() });
    expect(outline).toMatchObject({
      traceId: TRACE,
      spanCount: 5,
      services: ['gateway', 'timeline'],
      errorCount: 1,
      orphanCount: 1,
      duplicateCount: 0,
    });
    expect(outline.columns.spanIds).toHaveLength(5 * 16);
    expect(JSON.stringify(outline)).not.toContain('test.n');
    expect(outline.statusMessages).toEqual([
      { index: whole.spans.findIndex((s) => s.spanId === id(3)), message: 'users down' },
    ]);

    const { summary, spans } = unpackOutline(outline);
    expect(summary.start).toBeCloseTo(whole.start, 3);
    expect(summary.duration).toBeCloseTo(whole.duration, 3);
    expect(spans.map((s) => s.spanId)).toEqual(whole.spans.map((s) => s.spanId));
    spans.forEach((s, i) => {
      const w = whole.spans[i]!;
      expect({
        ...s,
        start: Math.round(s.start * 1000),
        events: s.events?.map((e) => [e.name, Math.round(e.time * 1000)]) ?? [],
      }).toEqual({
        spanId: w.spanId,
        parentId: w.parentId,
        service: w.service,
        instance: w.instance,
        name: w.name,
        kind: w.kind,
        start: Math.round(w.start * 1000),
        duration: w.duration,
        status: w.status,
        statusMessage: w.statusMessage,
        depth: w.depth,
        orphan: w.orphan,
        skew: w.skew,
        events: w.events.map((e) => [e.name, Math.round(e.time * 1000)]),
        linkCount: w.links.length,
      });
    });
    const orphan = spans.find((s) => s.orphan)!;
    expect(orphan).toMatchObject({ spanId: id(5), parentId: id(99), depth: 0 });
  });

  it('loads one span whole on demand, as traces.get has it', async () => {
    const whole = await invoke('traces.get', { traceId: TRACE });
    const w = whole.spans.find((s) => s.spanId === id(3))!;
    const span = await invoke('traces.span', { traceId: TRACE, spanId: id(3).toUpperCase() });
    const { depth: _d, orphan: _o, skew: _s, ...expected } = w;
    expect(span).toEqual(expected);
    expect(span.attributes).toMatchObject({ 'test.n': 3 });
    expect(span.links).toEqual([{ traceId: TRACE, spanId: id(1), attributes: {} }]);
    const withEvent = await invoke('traces.span', { traceId: TRACE, spanId: id(2) });
    expect(withEvent.events).toEqual([
      { time: expect.any(Number), name: 'breaker.transition', attributes: { to: 'open' } },
    ]);
  });

  it('finds spans by attribute value with traces.find, saying what matched', async () => {
    const found = await invoke('traces.find', { traceId: TRACE, text: 'test.n=3' });
    expect(found).toEqual({
      traceId: TRACE,
      text: 'test.n=3',
      matches: [{ spanId: id(3), fields: ['attributes.test.n'] }],
      truncated: false,
    });
    expect((await refused('traces.find', { traceId: 'f'.repeat(32), text: 'x' })).code).toBe('NOT_FOUND');
    expect((await refused('traces.find', { traceId: TRACE, text: '   ' })).code).toBe('BAD_REQUEST');
  });

  it('answers NOT_FOUND for what is not stored and BAD_REQUEST for bad ids', async () => {
    expect((await refused('traces.outline', { traceId: 'f'.repeat(32) })).code).toBe('NOT_FOUND');
    expect((await refused('traces.span', { traceId: TRACE, spanId: 'f'.repeat(16) })).code).toBe('NOT_FOUND');
    expect((await refused('traces.span', { traceId: 'e'.repeat(32), spanId: id(1) })).code).toBe('NOT_FOUND');
    for (const [name, input] of [
      ['traces.outline', { traceId: 'nope' }],
      ['traces.outline', { traceId: `${TRACE}' OR 1=1 --` }],
      ['traces.outline', {}],
      ['traces.span', { traceId: TRACE, spanId: "1' OR 1=1 --" }],
      ['traces.span', { traceId: TRACE, spanId: id(1).slice(1) }],
      ['traces.span', { traceId: TRACE }],
      ['traces.span', { traceId: TRACE, spanId: id(1), extra: 1 }],
    ] as const) {
      const error = await refused(name, input);
      expect(error.code, `${name} ${JSON.stringify(input)}`).toBe('BAD_REQUEST');
    }
  });
});

// --- registry --------------------------------------------------------------------------------------

const cli = (args: readonly string[]) => lab.cli(args).done;

const find = (list: CommandOutput<'registry.list'>, service: string, instanceId: string) =>
  list.services.find((s) => s.service === service)?.instances.find((i) => i.instanceId === instanceId);

describe('registry.list and registry.deregister', () => {
  beforeAll(async () => {
    expect((await refused('registry.list', {})).code).toBe('NO_CLUSTER');
    await invoke('cluster.up', { runtime: 'process' });
  }, 300_000);

  it('lists every registered instance with its heartbeat, beside the runtime', async () => {
    const status = await invoke('cluster.status');
    const expected = status.services
      .filter((s) => s.name !== 'registry')
      .flatMap((s) => s.instances.map((i) => `${s.name}/${i.id}`));
    const list = await eventually(async () => {
      const l = await invoke('registry.list');
      const alive = l.services.flatMap((s) =>
        s.instances.filter((i) => i.status === 'alive').map((i) => `${s.service}/${i.instanceId}`),
      );
      return expected.every((e) => alive.includes(e)) ? l : null;
    }, 'every instance registered and alive');
    expect(list.runtime).toBe('process');
    expect(list.registry).toMatch(/^registry-/);
    const timeline = find(list, 'timeline', 'timeline-1')!;
    const runtimeAddress = status.services.find((s) => s.name === 'timeline')!.instances[0]!.address;
    expect(timeline).toMatchObject({ address: runtimeAddress, runtimeState: 'running', status: 'alive' });
    expect(timeline.ageMs!).toBeGreaterThanOrEqual(0);
    expect(timeline.ageMs!).toBeLessThan(timeline.ttlSeconds! * 1000);
    expect(Date.parse(timeline.registeredAt!)).toBeLessThanOrEqual(Date.parse(timeline.lastHeartbeat!));

    const printed = await cli(['registry', '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const json = JSON.parse(printed.stdout) as CommandOutput<'registry.list'>;
    expect(find(json, 'timeline', 'timeline-1')?.address).toBe(runtimeAddress);
    const human = await cli(['registry']);
    expect(human.stdout).toMatch(/timeline\s+timeline-1\s+alive/);
  });

  it('deregisters an instance; a live one registers again at its next heartbeat', async () => {
    const before = find(await invoke('registry.list'), 'users', 'users-1')!;
    expect(await invoke('registry.deregister', { service: 'users', instanceId: 'users-1' })).toEqual({
      service: 'users',
      instanceId: 'users-1',
      deregistered: true,
    });
    await eventually(async () => {
      const again = find(await invoke('registry.list'), 'users', 'users-1');
      return again && again.status === 'alive' && again.registeredAt !== before.registeredAt;
    }, 'users-1 registered again');
    const missing = await refused('registry.deregister', { service: 'users', instanceId: 'users-9' });
    expect(missing.code).toBe('NOT_FOUND');
    expect((await refused('registry.deregister', { service: 'nope', instanceId: 'x' })).code).toBe(
      'BAD_REQUEST',
    );
    expect((await refused('registry.deregister', { service: 'users', instanceId: 'a/b' })).code).toBe(
      'BAD_REQUEST',
    );
    const cliMissing = await cli(['deregister', 'users', 'users-9', '--json']);
    expect(cliMissing.code).not.toBe(0);
  });

  it('shows a killed instance as no longer alive, then drops it when its TTL runs out', async () => {
    await invoke('service.kill', { service: 'tweets', signal: 'SIGKILL', instanceId: 'tweets-1' });
    await eventually(async () => {
      const i = find(await invoke('registry.list'), 'tweets', 'tweets-1');
      return i === undefined || i.status !== 'alive';
    }, 'tweets-1 not alive');
    await eventually(
      async () => find(await invoke('registry.list'), 'tweets', 'tweets-1') === undefined,
      'tweets-1 evicted',
      60_000,
    );
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { MS, span, T0 } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { storeWith } from './fixtures/store.ts';
import { exportTraceAsOtlpJson } from './otlp-json.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
const root = span({
  traceId: TRACE,
  spanId: 'eee19b7ec3c1b174',
  name: 'GET /api/timeline',
  startMs: 0,
  durationMs: 12.5,
  statusCode: 'error',
  statusMessage: 'upstream unavailable',
  attributes: {
    'http.route': '/api/timeline',
    'http.response.status_code': 503,
    ratio: 0.5,
    retried: true,
    tags: ['a', 1],
    meta: { k: 'v' },
    gone: null,
  },
  events: [{ timeUnixNano: T0 + 2n * MS, name: 'breaker.transition', attributes: { 'breaker.to': 'open' } }],
  links: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', attributes: {} }],
});
const child = span({
  traceId: TRACE,
  spanId: '00f067aa0ba902b7',
  parentSpanId: 'eee19b7ec3c1b174',
  service: 'users',
  resource: { 'service.instance.id': 'users-1' },
  scope: { name: 'manual', version: null },
  kind: 'server',
  name: 'GET /users/:handle',
  startMs: 1,
  durationMs: 10,
});

let store: TelemetryStore;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ store, dispose } = await storeWith([[root, child], [child]]));
});
afterAll(() => dispose());

it('exports a stored trace as OTLP/JSON, grouped by resource and scope', async () => {
  const start = T0.toString();
  const exported = await exportTraceAsOtlpJson(store.reader(), TRACE);
  expect(exported).toEqual({
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'gateway' } },
            { key: 'service.instance.id', value: { stringValue: 'gateway-1' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http', version: '0.301.0' },
            spans: [
              {
                traceId: TRACE,
                spanId: 'eee19b7ec3c1b174',
                name: 'GET /api/timeline',
                kind: 2,
                startTimeUnixNano: start,
                endTimeUnixNano: (T0 + 12_500_000n).toString(),
                attributes: [
                  { key: 'http.route', value: { stringValue: '/api/timeline' } },
                  { key: 'http.response.status_code', value: { intValue: '503' } },
                  { key: 'ratio', value: { doubleValue: 0.5 } },
                  { key: 'retried', value: { boolValue: true } },
                  {
                    key: 'tags',
                    value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } },
                  },
                  {
                    key: 'meta',
                    value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
                  },
                  { key: 'gone', value: {} },
                ],
                events: [
                  {
                    timeUnixNano: (T0 + 2_000_000n).toString(),
                    name: 'breaker.transition',
                    attributes: [{ key: 'breaker.to', value: { stringValue: 'open' } }],
                  },
                ],
                links: [
                  { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', attributes: [] },
                ],
                status: { code: 2, message: 'upstream unavailable' },
              },
            ],
          },
        ],
      },
      {
        // The stored resource lacked service.name; the export puts it back.
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'users' } },
            { key: 'service.instance.id', value: { stringValue: 'users-1' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'manual' },
            spans: [
              {
                traceId: TRACE,
                spanId: '00f067aa0ba902b7',
                parentSpanId: 'eee19b7ec3c1b174',
                name: 'GET /users/:handle',
                kind: 2,
                startTimeUnixNano: (T0 + 1_000_000n).toString(),
                endTimeUnixNano: (T0 + 11_000_000n).toString(),
                attributes: [],
                events: [],
                links: [],
                status: { code: 0 },
              },
            ],
          },
        ],
      },
    ],
  });
  // Plain JSON all the way down (no bigint, no undefined): it survives a round trip unchanged.
  expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);
});

it('answers null for a trace it does not have', async () => {
  expect(await exportTraceAsOtlpJson(store.reader(), '0'.repeat(31) + '1')).toBeNull();
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { span, spanId, traceId } from '../store/fixtures/spans.ts';
import type { TelemetryStore } from '../store/store.ts';
import { storeWith } from './fixtures/store.ts';
import { findInTrace } from './find.ts';

const TRACE = traceId(0xf1);
const OTHER = traceId(0xf2);
const s = (n: number) => spanId(0xf00 + n);

/**
 *   1 gateway  GET /api/timeline   http.route=/api/timeline, status 200, user.handle=Alice
 *   2 users    GET /users          status 1200, event "breaker.open", resource host.name=box-7
 *   3 tweets   SELECT tweets       ERROR "deadline exceeded", db.statement=SELECT * FROM tweets
 *   (3 is stored twice: an exporter retry; OTHER holds a span with Alice too)
 */
const spans = [
  span({
    traceId: TRACE,
    spanId: s(1),
    name: 'GET /api/timeline',
    startMs: 0,
    durationMs: 10,
    attributes: {
      'http.route': '/api/timeline',
      'http.response.status_code': 200,
      'user.handle': 'Alice',
      note: 'say "hi" \\ there',
    },
  }),
  span({
    traceId: TRACE,
    spanId: s(2),
    parentSpanId: s(1),
    service: 'users',
    name: 'GET /users',
    startMs: 1,
    durationMs: 5,
    attributes: { 'http.response.status_code': 1200 },
    resource: { 'service.name': 'users', 'host.name': 'box-7' },
    events: [{ timeUnixNano: 1n, name: 'breaker.open', attributes: {} }],
  }),
  span({
    traceId: TRACE,
    spanId: s(3),
    parentSpanId: s(1),
    service: 'tweets',
    name: 'SELECT tweets',
    startMs: 2,
    durationMs: 5,
    statusCode: 'error',
    statusMessage: 'deadline exceeded',
    attributes: { 'db.statement': 'SELECT * FROM tweets' },
  }),
];

let store: TelemetryStore;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ store, dispose } = await storeWith([
    spans,
    [spans[2]!],
    [span({ traceId: OTHER, spanId: s(9), startMs: 0, durationMs: 1, attributes: { who: 'Alice' } })],
  ]));
});
afterAll(() => dispose());

const find = async (text: string, limit?: number) => (await findInTrace(store.reader(), TRACE, text, limit))!;

describe('findInTrace', () => {
  it('finds attribute values, case-insensitively, and says which field matched', async () => {
    expect((await find('alice')).matches).toEqual([{ spanId: s(1), fields: ['attributes.user.handle'] }]);
    expect((await find('FROM TWEETS')).matches).toEqual([
      { spanId: s(3), fields: ['attributes.db.statement'] },
    ]);
  });

  it('matches names, services, status messages, events, resource and span ids', async () => {
    expect((await find('tweets')).matches).toEqual([
      {
        spanId: s(3),
        fields: [
          'name',
          'service',
          'instance',
          'attributes.db.statement',
          'resource.service.instance.id',
          'resource.service.name',
        ],
      },
    ]);
    expect((await find('deadline')).matches).toEqual([{ spanId: s(3), fields: ['statusMessage'] }]);
    expect((await find('breaker')).matches).toEqual([{ spanId: s(2), fields: ['event'] }]);
    expect((await find('box-7')).matches).toEqual([{ spanId: s(2), fields: ['resource.host.name'] }]);
    expect((await find(s(2))).matches).toEqual([{ spanId: s(2), fields: ['spanId'] }]);
  });

  it('finds text that JSON escapes (quotes, backslashes) in values', async () => {
    expect((await find('"HI" \\')).matches).toEqual([{ spanId: s(1), fields: ['attributes.note'] }]);
    expect((await find('note=say "hi"')).matches).toEqual([{ spanId: s(1), fields: ['attributes.note'] }]);
  });

  it('takes a number whole and a key=value pair by key', async () => {
    expect((await find('200')).matches).toEqual([
      { spanId: s(1), fields: ['attributes.http.response.status_code'] },
    ]);
    expect((await find('http.route=timeline')).matches).toEqual([
      { spanId: s(1), fields: ['attributes.http.route'] },
    ]);
    expect((await find('HTTP.RESPONSE.STATUS_CODE = 120')).matches).toEqual([
      { spanId: s(2), fields: ['attributes.http.response.status_code'] },
    ]);
    expect((await find('user.handle=bob')).matches).toEqual([]);
  });

  it('lists a re-sent span once, stays in its trace, and says when it cut the list', async () => {
    expect((await find('get')).matches.map((m) => m.spanId)).toEqual([s(1), s(2)]);
    expect(await find('get', 1)).toEqual({ matches: [{ spanId: s(1), fields: ['name'] }], truncated: true });
    expect((await find("' OR 1=1 --")).matches).toEqual([]);
    expect(await findInTrace(store.reader(), traceId(0xdead), 'x')).toBeNull();
    await expect(findInTrace(store.reader(), 'nope', 'x')).rejects.toThrow(/trace id/);
  });
});

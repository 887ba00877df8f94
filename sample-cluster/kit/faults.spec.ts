import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultLayer, faultSpecSchema, type FaultApplied } from './faults.ts';
import { HttpProblem } from './problem.ts';

let app: FastifyInstance;
let base: string;
const faults = new FaultLayer();

beforeAll(async () => {
  app = Fastify();
  app.setErrorHandler((error, _req, reply) => {
    const status = error instanceof HttpProblem ? error.status : 500;
    return reply.code(status).send({ status });
  });
  faults.install(app);
  app.get('/v1/things', async () => ({ things: 'x'.repeat(2_000) }));
  app.get('/v1/other', async () => ({ ok: true }));
  app.get('/admin/faults', async () => ({ admin: true }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  faults.clear();
  await app.close();
});

const spec = (input: unknown) => faultSpecSchema.parse(input);
const get = (path: string, headers: Record<string, string> = {}) =>
  request(`${base}${path}`, { headers, signal: AbortSignal.timeout(5_000) });

describe('FaultLayer', () => {
  it('adds latency within the jitter band, only on the targeted route', async () => {
    const fault = faults.add(spec({ kind: 'latency', latencyMs: 150, jitterMs: 20, route: '/v1/things' }));
    const started = performance.now();
    const slow = await get('/v1/things');
    await slow.body.text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(125);
    expect(slow.headers['x-chaoscope-fault']).toBe('latency');
    const untouched = await get('/v1/other');
    await untouched.body.text();
    expect(untouched.headers['x-chaoscope-fault']).toBeUndefined();
    faults.remove(fault.id);
  });

  it('answers with the injected status, only for the targeted caller', async () => {
    const fault = faults.add(spec({ kind: 'error', status: 503, caller: 'gateway' }));
    const hit = await get('/v1/other', { 'x-chaoscope-caller': 'gateway' });
    expect(hit.statusCode).toBe(503);
    await hit.body.text();
    const miss = await get('/v1/other', { 'x-chaoscope-caller': 'timeline' });
    expect(miss.statusCode).toBe(200);
    await miss.body.text();
    expect(faults.list()[0]?.applied).toBe(1);
    faults.remove(fault.id);
  });

  it('resets the connection on abort', async () => {
    const fault = faults.add(spec({ kind: 'abort' }));
    await expect(get('/v1/other')).rejects.toThrow();
    faults.remove(fault.id);
  });

  it('hangs until its limit, then drops the connection', async () => {
    const fault = faults.add(spec({ kind: 'hang', maxMs: 300 }));
    const started = performance.now();
    await expect(get('/v1/other')).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    faults.remove(fault.id);
  });

  it('limits bandwidth of the response body', async () => {
    const fault = faults.add(spec({ kind: 'bandwidth', bytesPerSecond: 4_000 }));
    const started = performance.now();
    const res = await get('/v1/things');
    const body = await res.body.text();
    expect(body.length).toBeGreaterThan(2_000);
    // 2 kB at 4 kB/s in 400-byte slices every 100 ms: at least ~500 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    faults.remove(fault.id);
  });

  it('never touches admin or health routes', async () => {
    const fault = faults.add(spec({ kind: 'error', status: 500 }));
    const res = await get('/admin/faults');
    expect(res.statusCode).toBe(200);
    await res.body.text();
    faults.remove(fault.id);
  });

  it('applies a fault with its probability', () => {
    const layer = new FaultLayer();
    layer.add(spec({ kind: 'error', probability: 0.3 }));
    let n = 0;
    const rolls = [0.1, 0.29, 0.3, 0.9];
    const hits = rolls.filter(() => layer.select('GET', '/x', null, () => rolls[n++]!).length > 0);
    expect(hits).toHaveLength(2);
  });

  it('rolls itself back when its duration ends, and reports each application', async () => {
    const layer = new FaultLayer();
    const applied: FaultApplied[] = [];
    layer.onApplied((e) => applied.push(e));
    layer.add(spec({ kind: 'error', durationMs: 50 }));
    expect(layer.list()).toHaveLength(1);
    expect(layer.list()[0]?.expiresAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 120));
    expect(layer.list()).toHaveLength(0);
  });

  it('rejects malformed specs precisely', () => {
    expect(faultSpecSchema.safeParse({ kind: 'latency' }).success).toBe(false);
    expect(faultSpecSchema.safeParse({ kind: 'error', status: 200 }).success).toBe(false);
    expect(faultSpecSchema.safeParse({ kind: 'nope' }).success).toBe(false);
    expect(faultSpecSchema.safeParse({ kind: 'abort', probability: 2 }).success).toBe(false);
    expect(faultSpecSchema.safeParse({ kind: 'abort', route: 'no-slash' }).success).toBe(false);
    expect(faultSpecSchema.safeParse({ kind: 'abort', extra: 1 }).success).toBe(false);
  });
});

/**
 * The typed client over a transport that is a real dispatcher with real handlers in memory (no
 * network): inputs checked before they leave, outputs and events checked when they arrive.
 */
import { describe, expect, it } from 'vitest';
import { createApiClient, type ApiTransport } from './client.ts';
import { ApiError } from './errors.ts';

function transport(
  answer: (name: string, input: unknown) => unknown,
  batches: unknown[] = [],
): ApiTransport & { sent: unknown[][]; listeners: number } {
  const t = {
    sent: [] as unknown[][],
    listeners: 0,
    async invoke(name: string, input: unknown) {
      t.sent.push([name, input]);
      return answer(name, input);
    },
    subscribe(listener: (batch: unknown) => void) {
      t.listeners += 1;
      queueMicrotask(() => batches.forEach(listener));
      return () => (t.listeners -= 1);
    },
  };
  return t;
}

const settings = {
  runtime: 'auto',
  gatewayPort: 8080,
  otlpPort: 4318,
  jaegerPort: 14268,
  exporter: 'otlp-proto',
  loadgen: false,
  retention: { maxAgeHours: 24, maxMegabytes: 2048 },
  theme: 'system',
};

describe('createApiClient', () => {
  it('sends validated input with defaults filled in, and returns the validated output', async () => {
    const t = transport(() => ({ ok: true, value: settings }));
    const api = createApiClient(t);
    expect(await api.settings.get()).toEqual(settings);
    await api.invoke('settings.get');
    expect(t.sent).toEqual([
      ['settings.get', {}],
      ['settings.get', {}],
    ]);
  });

  it('refuses bad input before sending it', async () => {
    const t = transport(() => ({ ok: true, value: {} }));
    const api = createApiClient(t);
    // @ts-expect-error a wrong service name is a type error too
    const error = await api.service.kill({ service: 'nosuch' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      code: 'BAD_REQUEST',
      details: [expect.stringMatching(/^service: unknown service "nosuch"/)],
    });
    expect(t.sent).toEqual([]);
  });

  it('turns an error envelope back into an ApiError', async () => {
    const api = createApiClient(
      transport(() => ({ ok: false, error: { code: 'NO_CLUSTER', message: 'no cluster' } })),
    );
    await expect(api.cluster.status()).rejects.toMatchObject({
      name: 'ApiError',
      code: 'NO_CLUSTER',
      message: 'no cluster',
    });
  });

  it('rejects an answer outside the contract (a control plane of another version)', async () => {
    const api = createApiClient(transport(() => ({ ok: true, value: { ...settings, theme: 'sepia' } })));
    await expect(api.settings.get()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/did not match the contract/),
    });
    const notEnvelope = createApiClient(transport(() => 'hello'));
    await expect(notEnvelope.settings.get()).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('delivers events by topic, drops invalid batches, and subscribes only while someone listens', async () => {
    const good = {
      seq: 1,
      at: new Date().toISOString(),
      events: [
        { topic: 'control.notice', data: { level: 'info', message: 'hello', at: '2026-01-01T00:00:00Z' } },
        {
          topic: 'log.line',
          data: { service: 'users', instanceId: 'users-1', line: 'x', at: '2026-01-01T00:00:00Z' },
        },
      ],
    };
    const bad = { seq: 2, at: 'now', events: [{ topic: 'control.notice', data: { level: 'loud' } }] };
    const t = transport(() => ({ ok: true, value: {} }), [good, bad]);
    const api = createApiClient(t);
    const notices: string[] = [];
    const invalid: string[] = [];
    api.onInvalidBatch((reason) => invalid.push(reason));
    expect(t.listeners).toBe(0);
    const off = api.on('control.notice', (n) => notices.push(n.message));
    expect(t.listeners).toBe(1);
    await new Promise((r) => setTimeout(r, 10));
    expect(notices).toEqual(['hello']);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatch(/did not match the contract/);
    off();
    expect(t.listeners).toBe(0);
  });
});

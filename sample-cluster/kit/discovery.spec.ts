import { Readable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { baseConfigSchema, ConfigError, loadConfig } from './config.ts';
import { createDiscovery, DnsDiscovery } from './discovery.ts';
import { NoInstanceError } from './discovery-types.ts';
import { parseSse } from './registry-watch.ts';
import { startService } from './server.ts';
import { testEnv } from './testing.ts';

// RegistryDiscovery is tested against a real registry in services/registry/discovery-client.spec.ts.

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('DnsDiscovery', () => {
  const dnsConfig = (overrides: Record<string, string | undefined>) =>
    loadConfig(
      baseConfigSchema,
      testEnv('gateway', {
        DISCOVERY: 'dns',
        DNS_HOST_TEMPLATE: 'localhost',
        DNS_PORT: '4100',
        ...overrides,
      }),
    );

  it('resolves the service host and round-robins over its addresses on DNS_PORT', async () => {
    const discovery = createDiscovery(dnsConfig({}), log);
    expect(discovery).toBeInstanceOf(DnsDiscovery);
    await discovery.start();
    const instance = await discovery.pick('users');
    expect(instance).toMatchObject({ service: 'users', address: '127.0.0.1:4100' });
    expect(discovery.connected()).toBe(true);
    expect((await discovery.instances('tweets')).map((i) => i.address)).toEqual(['127.0.0.1:4100']);
    await discovery.stop();
  });

  it('puts the service name into the template', () => {
    const discovery = new DnsDiscovery({ hostTemplate: '{service}.chaoscope', port: 80, log });
    expect(discovery.hostFor('timeline')).toBe('timeline.chaoscope');
  });

  it('answers "no instance" for a name that does not exist', async () => {
    const discovery = createDiscovery(dnsConfig({ DNS_HOST_TEMPLATE: '{service}.invalid' }), log);
    await expect(discovery.pick('users')).rejects.toBeInstanceOf(NoInstanceError);
  });

  it('refuses DNS mode without DNS_PORT with a clear error, also at service start', async () => {
    expect(() => createDiscovery(dnsConfig({ DNS_PORT: undefined }), log)).toThrow(ConfigError);
    expect(() => createDiscovery(dnsConfig({ DNS_PORT: undefined }), log)).toThrow(/DNS_PORT is required/);
    await expect(
      startService(
        { setup: () => undefined },
        testEnv('users', { DISCOVERY: 'dns', DNS_HOST_TEMPLATE: 'localhost' }),
      ),
    ).rejects.toThrow(/DNS_PORT is required/);
  });
});

describe('parseSse', () => {
  async function collect(...chunks: string[]) {
    const events = [];
    for await (const event of parseSse(Readable.from(chunks.map((c) => Buffer.from(c))))) events.push(event);
    return events;
  }

  it('handles comments, multi-line data, CRLF split across chunks and a missing final blank line', async () => {
    const events = await collect(
      ': hello\r',
      '\nevent: snapshot\r',
      '\ndata: {"a":\ndata: 1}\n\n',
      'retry: 10\n\nid: 7\ndata: x\n\n',
      'data: cut off',
    );
    expect(events).toEqual([
      { event: 'snapshot', data: '{"a":\n1}', id: undefined },
      { event: 'message', data: 'x', id: '7' },
    ]);
  });

  it('refuses an event larger than its limit', async () => {
    const big = `data: ${'x'.repeat(100)}\n`;
    const stream = parseSse(Readable.from([Buffer.from(big.repeat(3))]), 200);
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/exceeds/);
  });
});

import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { distinctFreePorts, isPortFree, preferredOrNextFreePort } from './ports.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function occupy(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    servers.push(server);
    server.once('error', reject);
    server.listen({ port, host }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('port selection', () => {
  it('takes the preferred port when it is free', async () => {
    const [port] = await distinctFreePorts(1);
    expect(await preferredOrNextFreePort(port!)).toBe(port);
  });

  it('moves on to the next free port when the preferred one is busy (as the gateway does for 8080)', async () => {
    const busy = await occupy(0, '127.0.0.1');
    expect(await isPortFree(busy)).toBe(false);
    const chosen = await preferredOrNextFreePort(busy);
    expect(chosen).toBeGreaterThan(busy);
    expect(await isPortFree(chosen)).toBe(true);
  });

  it('sees a port held on every interface as busy on loopback too', async () => {
    const busy = await occupy(0, '0.0.0.0');
    expect(await isPortFree(busy, '127.0.0.1')).toBe(false);
  });

  it('skips ports already handed out', async () => {
    const [first] = await distinctFreePorts(1);
    expect(await preferredOrNextFreePort(first!, { exclude: new Set([first!]) })).toBeGreaterThan(first!);
  });

  it('hands out distinct ports', async () => {
    const ports = await distinctFreePorts(12);
    expect(new Set(ports).size).toBe(12);
  });
});

/**
 * Port choice for the process runtime: the gateway asks for a well-known port and takes the next
 * free one when it is busy; every other service takes any free loopback port once, at `up`, and
 * keeps it across restarts so the registry and the user see the same address.
 */
import { createServer } from 'node:net';
import { RuntimeError } from '../errors.ts';

export const LOOPBACK = '127.0.0.1';

/** Bind and release: the honest answer to "is it free", including ports held by 0.0.0.0 listeners. */
export function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel considers free right now. */
export function anyFreePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the kernel gave no port'))));
    });
  });
}

/** `preferred` when free, else the first free port above it (within `span`). */
export async function preferredOrNextFreePort(
  preferred: number,
  options: { host?: string; span?: number; exclude?: ReadonlySet<number> } = {},
): Promise<number> {
  const span = options.span ?? 100;
  for (let port = preferred; port < Math.min(preferred + span, 65536); port++) {
    if (options.exclude?.has(port)) continue;
    if (await isPortFree(port, options.host)) return port;
  }
  throw new RuntimeError(
    'PORT_UNAVAILABLE',
    `no free port in ${preferred}–${Math.min(preferred + span, 65536) - 1}`,
  );
}

/**
 * Free loopback ports, distinct from each other and from `exclude`. The kernel may hand back a
 * port it just gave (each probe is released at once), hence the set.
 */
export async function distinctFreePorts(
  count: number,
  exclude: ReadonlySet<number> = new Set(),
  host = LOOPBACK,
): Promise<number[]> {
  const taken = new Set(exclude);
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > count * 20)
      throw new RuntimeError('PORT_UNAVAILABLE', `could not find ${count} free loopback ports`);
    const port = await anyFreePort(host);
    if (taken.has(port)) continue;
    taken.add(port);
    ports.push(port);
  }
  return ports;
}

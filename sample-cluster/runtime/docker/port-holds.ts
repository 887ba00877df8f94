/**
 * Host ports held open from the moment they are chosen until the container that publishes them
 * starts. The engine binds a published port only at container start, which for the gateway comes
 * after the image build and every other service: tens of seconds in which another program (another
 * cluster's `up`, a test) could take a port that merely looked free. A held port looks taken to
 * everyone else; it is released a moment before its container starts.
 */
import { createServer, type Server } from 'node:net';
import { RuntimeError } from '../errors.ts';

const LOOPBACK = '127.0.0.1';

export class PortHolds {
  readonly #servers = new Map<number, Server>();

  /** Hold `port` if it is free; false when something else has it. */
  async hold(port: number): Promise<boolean> {
    if (this.#servers.has(port)) return true;
    const server = await listen(port).catch(() => null);
    if (!server) return false;
    this.#servers.set(server.port, server.server);
    return true;
  }

  /** `preferred` when free, else the first free port above it (within `span`), held. */
  async holdPreferredOrNext(preferred: number, span = 100): Promise<number> {
    for (let port = preferred; port < Math.min(preferred + span, 65536); port++) {
      if (await this.hold(port)) return port;
    }
    throw new RuntimeError(
      'PORT_UNAVAILABLE',
      `no free port in ${preferred}–${Math.min(preferred + span, 65536) - 1}`,
    );
  }

  /** `count` ports the kernel picks, none of them in `exclude` (ports our stopped containers keep). */
  async holdAny(count: number, exclude: ReadonlySet<number> = new Set()): Promise<number[]> {
    const ports: number[] = [];
    const skipped: Server[] = [];
    try {
      for (let attempts = 0; ports.length < count; attempts++) {
        if (attempts > count * 20)
          throw new RuntimeError('PORT_UNAVAILABLE', `could not find ${count} free loopback ports`);
        const { port, server } = await listen(0);
        // Kept open while looking further, so the kernel does not hand the same port back.
        if (exclude.has(port)) skipped.push(server);
        else {
          this.#servers.set(port, server);
          ports.push(port);
        }
      }
    } finally {
      await Promise.all(skipped.map(close));
    }
    return ports;
  }

  async release(port: number): Promise<void> {
    const server = this.#servers.get(port);
    this.#servers.delete(port);
    if (server) await close(server);
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#servers.keys()].map((port) => this.release(port)));
  }
}

function listen(port: number): Promise<{ port: number; server: Server }> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    // A hold must never keep the process alive on its own.
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address ? address.port : port, server });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

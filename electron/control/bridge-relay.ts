/**
 * Containers send telemetry to `host.docker.internal`, which Docker maps to the default bridge's
 * gateway address on this machine. The collector listens on loopback only (nothing outside this
 * machine may feed the store), so on that one address a TCP relay forwards to it: reachable from
 * the containers and the host, not from the network. Only for a local engine (a Unix socket),
 * whose bridge address is one of this machine's own; the bridge is often down while no container
 * uses it, so the address is taken from the engine, not from the interface list.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dockerClient, engineOptions, pingEngine } from '../../sample-cluster/runtime/docker/client.ts';

/** The default bridge's gateway when the engine runs on this machine, else null. */
export async function localBridgeAddress(env: NodeJS.ProcessEnv, timeoutMs = 1_500): Promise<string | null> {
  let docker;
  try {
    if (!engineOptions(env).socketPath) return null;
    docker = dockerClient(env);
  } catch {
    return null;
  }
  if (!(await pingEngine(docker, timeoutMs))) return null;
  try {
    const bridge = (await docker.getNetwork('bridge').inspect()) as {
      IPAM?: { Config?: Array<{ Gateway?: string }> };
    };
    return bridge.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? null;
  } catch {
    return null;
  }
}

export interface Relay {
  readonly address: string;
  close(): Promise<void>;
}

/** Listen on `host:port` and pipe every connection to `127.0.0.1:targetPort`. */
export async function openRelay(host: string, port: number, targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // A reset on one side ends the other; nothing to report.
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ContainerTelemetryBridge {
  /**
   * Open the relays to the collector's ports, once; null when they listen, else why containers
   * cannot send telemetry (asked again next time when there was no bridge yet).
   */
  ensure(): Promise<string | null>;
  close(): Promise<void>;
}

/** Relays from the local bridge to each of the collector's URLs, opened when first asked for. */
export function containerTelemetryBridge(
  env: NodeJS.ProcessEnv,
  collectorUrls: () => readonly string[],
): ContainerTelemetryBridge {
  const relays: Relay[] = [];
  let bridged: Promise<string | null> | null = null;
  return {
    ensure: () =>
      (bridged ??= (async () => {
        const host = await localBridgeAddress(env);
        if (!host) {
          bridged = null;
          return 'no local Docker bridge: containers cannot send telemetry to this machine';
        }
        const problems: string[] = [];
        for (const url of collectorUrls()) {
          const port = Number(new URL(url).port);
          try {
            relays.push(await openRelay(host, port, port));
          } catch (error) {
            problems.push(`${host}:${port} (${(error as Error).message})`);
          }
        }
        return problems.length > 0
          ? `containers cannot reach the collector; could not listen on ${problems.join(', ')}`
          : null;
      })()),
    close: async () => void (await Promise.all(relays.map((r) => r.close()))),
  };
}

/**
 * Readiness over HTTP, the same signal a container health check uses: `GET /readyz` answering 200.
 * A fresh connection per probe (no agent) so no idle socket outlives it and delays a service's drain.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export function probeReady(address: string, timeoutMs = 1_000): Promise<boolean> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: '/readyz', method: 'GET', agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
        res.once('error', () => resolve(false));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(false));
    req.end();
  });
}

export function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}

export type ReadyOutcome = 'ready' | 'died' | 'timeout' | 'aborted';

/**
 * Poll until ready, the process dies (checked with `alive` between probes), the deadline passes,
 * or `signal` aborts.
 */
export async function waitUntilReady(
  address: string,
  options: { timeoutMs: number; alive: () => boolean; signal?: AbortSignal; intervalMs?: number },
): Promise<ReadyOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) return 'aborted';
    if (await probeReady(address, Math.min(1_000, Math.max(100, deadline - Date.now())))) return 'ready';
    if (!options.alive()) return 'died';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(options.intervalMs ?? 100);
  }
}

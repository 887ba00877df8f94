import { Agent, request } from 'undici';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

/**
 * A closed-loop load: `concurrency` clients each send the next request as soon as the previous
 * answered, for `seconds`. Closed-loop keeps the comparison fair between two targets measured
 * back to back on the same noisy machine.
 */
export async function closedLoop(
  target: string | ((dispatcher: Agent) => Promise<number>),
  options: { concurrency: number; seconds: number; headers?: Record<string, string>; expectStatus?: number },
): Promise<LoadResult> {
  const dispatcher = new Agent({ connections: options.concurrency, keepAliveTimeout: 10_000 });
  const once =
    typeof target === 'string'
      ? async () => {
          const res = await request(target, { headers: options.headers, dispatcher });
          await res.body.dump();
          return res.statusCode;
        }
      : () => target(dispatcher);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        if ((await once()) !== (options.expectStatus ?? 200)) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await dispatcher.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    requests: latencies.length,
    errors,
    seconds: round(seconds),
    requestsPerSecond: round(latencies.length / seconds),
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(latencies.at(-1) ?? 0) },
  };
}

/** GET a JSON document with a shared dispatcher. */
export async function getJson<T>(
  url: string,
  dispatcher: Agent,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await request(url, {
    method: init.method ?? 'GET',
    dispatcher,
    ...(init.body !== undefined
      ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

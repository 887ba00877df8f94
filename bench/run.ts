/**
 * `npm run bench`: the tweet cluster as processes, measured in one run on this machine.
 * - start: time from `up` to every service ready, and per service;
 * - memory: resident memory of every service at idle, summed (target: under 1 GB);
 * - gateway: home-timeline throughput and latency through the gateway (token check, rate limits,
 *   breaker, aggregation of timeline + tweets + users) against a direct call to the timeline
 *   service, back to back; the ratios are the gateway's cost.
 * Prints JSON, writes bench/results/latest.json and docs/performance.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ProcessRuntime } from '../sample-cluster/runtime/process/runtime.ts';
import { api } from '../test/integration/http.ts';
import { login } from '../test/integration/oauth-client.ts';
import { closedLoop, getJson, round } from './load.ts';
import { writePerformanceReport, type BenchResult } from './report.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

const home = mkdtempSync(join(tmpdir(), 'chaoscope-bench-'));
// The rate limits would make the gateway look fast by answering 429: lift them for the benchmark.
const unlimited = {
  RATE_LIMIT_USER_RPS: '1000000',
  RATE_LIMIT_USER_BURST: '1000000',
  RATE_LIMIT_CLIENT_RPS: '1000000',
  RATE_LIMIT_CLIENT_BURST: '1000000',
};
// loadgen is started but idle: it counts toward the cluster's memory, not toward the load.
const runtime = new ProcessRuntime({
  home,
  logLevel: 'warn',
  serviceEnv: { gateway: unlimited, loadgen: { LOADGEN_AUTOSTART: 'false' } },
});
const memoryOf = async () => {
  const status = await runtime.status();
  const perService = Object.fromEntries(
    status.services.flatMap((s) =>
      s.instances.filter((i) => i.pid).map((i) => [s.name, round(rssMb(i.pid!), 1)] as const),
    ),
  );
  return {
    totalMb: round(
      Object.values(perService).reduce((a, b) => a + b, 0),
      1,
    ),
    perServiceMb: perService,
  };
};
const ready: Record<string, number> = {};
try {
  const t0 = performance.now();
  const status = await runtime.up({
    gatewayPort: 18180,
    withLoadgen: true,
    onProgress: (e) => {
      if (e.type === 'service-healthy') ready[e.service] = e.elapsedMs;
    },
  });
  const startMs = performance.now() - t0;
  const g = status.gateway;
  await new Promise((r) => setTimeout(r, 3_000));
  const idle = await memoryOf();

  // Seed: a reader following ten writers with twenty tweets each.
  await api(g, 'POST', '/api/accounts', {
    body: { handle: 'bench_reader', password: 'bench-password', displayName: 'Reader' },
  });
  const reader = await login(g, 'bench_reader', 'bench-password');
  for (let w = 0; w < 10; w++) {
    const handle = `bench_w${w}`;
    await api(g, 'POST', '/api/accounts', {
      body: { handle, password: 'bench-password', displayName: `Writer ${w}` },
    });
    const writer = await login(g, handle, 'bench-password');
    await api(g, 'PUT', `/api/users/${handle}/follow`, { token: reader.accessToken });
    for (let t = 0; t < 20; t++)
      await api(g, 'POST', '/api/tweets', {
        token: writer.accessToken,
        body: { text: `tweet ${t} by ${handle}` },
      });
  }
  await new Promise((r) => setTimeout(r, 2_000)); // let the outbox fan out

  const after = await runtime.status();

  const address = (name: string) =>
    `http://${after.services.find((s) => s.name === name)!.instances[0]!.address}`;
  const direct = await closedLoop(`${address('timeline')}/v1/timelines/home/bench_reader?limit=20`, {
    concurrency: CONCURRENCY,
    seconds: SECONDS,
  });
  // The same page assembled by the client itself from the three services, as the gateway does it:
  // what is left between this and the gateway is the gateway's own cost.
  const assembled = await closedLoop(
    async (dispatcher) => {
      const ids = await getJson<{ items: Array<{ tweetId: string }> }>(
        `${address('timeline')}/v1/timelines/home/bench_reader?limit=20`,
        dispatcher,
      );
      const tweets = await getJson<{ tweets: Array<{ author: string }> }>(
        `${address('tweets')}/v1/tweets/batch`,
        dispatcher,
        {
          method: 'POST',
          body: { ids: ids.body.items.map((i) => i.tweetId) },
        },
      );
      const users = await getJson(`${address('users')}/v1/users/batch`, dispatcher, {
        method: 'POST',
        body: { handles: [...new Set(tweets.body.tweets.map((t) => t.author))] },
      });
      return users.status;
    },
    { concurrency: CONCURRENCY, seconds: SECONDS },
  );
  const viaGateway = await closedLoop(`${g}/api/timeline?limit=20`, {
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    headers: { authorization: `Bearer ${reader.accessToken}` },
  });

  const afterLoad = await memoryOf();
  const result: BenchResult = {
    when: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    settings: { seconds: SECONDS, concurrency: CONCURRENCY },
    start: { totalMs: round(startMs, 0), readyAtMs: ready },
    memory: { idle, afterLoad, budgetMb: 1024, idleRatioToBudget: round(idle.totalMb / 1024, 3) },
    gateway: {
      directTimeline: direct,
      clientAssembled: assembled,
      viaGateway,
      vsDirectTimeline: {
        throughputRatio: round(viaGateway.requestsPerSecond / direct.requestsPerSecond, 3),
        p50Ratio: round(viaGateway.latencyMs.p50 / direct.latencyMs.p50, 2),
        p99Ratio: round(viaGateway.latencyMs.p99 / direct.latencyMs.p99, 2),
      },
      vsClientAssembled: {
        throughputRatio: round(viaGateway.requestsPerSecond / assembled.requestsPerSecond, 3),
        p50Ratio: round(viaGateway.latencyMs.p50 / assembled.latencyMs.p50, 2),
        p99Ratio: round(viaGateway.latencyMs.p99 / assembled.latencyMs.p99, 2),
      },
    },
  };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writePerformanceReport(result);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await runtime.down({ volumes: true });
  rmSync(home, { recursive: true, force: true });
}

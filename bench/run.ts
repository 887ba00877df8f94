/**
 * `npm run bench`: the tweet cluster as processes, measured in one run on this machine.
 * - start: time from `up` to every service ready, and per service;
 * - memory: resident memory of every service at idle, summed (target: under 1 GB);
 * - gateway: home-timeline throughput and latency through the gateway (token check, rate limits,
 *   breaker, aggregation of timeline + tweets + users) against a direct call to the timeline
 *   service, back to back; the ratios are the gateway's cost;
 * - tracing: the same gateway throughput with every service exporting traces, metrics and logs to
 *   the app's collector and store (bench/telemetry-backend.ts, its own process), against the run
 *   above without telemetry: the ratio is what tracing costs;
 * - telemetry: the collector (bench/telemetry-collector.ts) and the store (bench/telemetry-store.ts)
 *   benchmarks, each in its own process;
 * - docker (only when asked: BENCH_PARTS=docker): bench/docker.ts in its own process;
 * - trace-view (only when asked: BENCH_PARTS=trace-view): bench/trace-view.ts in its own process,
 *   the trace view in Chromium with 20,000- and 50,000-span traces.
 * Prints JSON, writes bench/results/latest.json and docs/performance.md.
 *
 * Env: BENCH_PARTS (default "cluster,telemetry"; a part not run keeps its previous result in the
 * report), BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_PROFILE_DIR (CPU profiles of the traced gateway),
 * and the telemetry benchmarks' own (BENCH_TELEMETRY_MAX_SPANS=1000000 for a quicker run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_SPEC } from '../sample-cluster/cluster.ts';
import { ProcessRuntime } from '../sample-cluster/runtime/process/runtime.ts';
import { api } from '../test/integration/http.ts';
import { login } from '../test/integration/oauth-client.ts';
import { closedLoop, getJson, round } from './load.ts';
import { writePerformanceReport, type BenchResult, type ClusterResult } from './report.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'cluster,telemetry').split(',').map((p) => p.trim()));
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** Tracing on/off restarts (each about 15 s): the on/off comparison alternates this many times. */
const TRACING_ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 2);
const ASYNC_CONTEXT_FRAME = '--experimental-async-context-frame';
const RESULT_FILE = join(import.meta.dirname, 'results', 'latest.json');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU time (user + system) a process has used, in milliseconds. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0; // exited
  }
}
const CLOCK_TICKS = 100;

// The rate limits would make the gateway look fast by answering 429: lift them for the benchmark.
const unlimited = {
  RATE_LIMIT_USER_RPS: '1000000',
  RATE_LIMIT_USER_BURST: '1000000',
  RATE_LIMIT_CLIENT_RPS: '1000000',
  RATE_LIMIT_CLIENT_BURST: '1000000',
};
const GATEWAY_PORT = 18180;

/** The app's collector and store in a child process; resolves once it listens. */
async function startBackend(dir: string) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'telemetry-backend.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffered = '';
  let notify: (() => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      notify?.();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      const code = await Promise.race([new Promise<'line'>((r) => (notify = () => r('line'))), exited]);
      if (code !== 'line' && lines.length === 0)
        throw new Error(`the telemetry back end exited with ${code}`);
    }
    return lines.shift()!;
  };
  const urls = JSON.parse(await nextLine()) as { otlpUrl: string };
  return {
    otlpUrl: urls.otlpUrl,
    /** Stops it; resolves with its counts (spans, points, records stored). */
    async stop(): Promise<{ rows: Record<string, number> }> {
      child.kill('SIGTERM');
      const counts = JSON.parse(await nextLine()) as { rows: Record<string, number> };
      await exited;
      return counts;
    },
    kill: () => child.kill('SIGKILL'),
    pid: child.pid!,
  };
}

async function clusterBench(): Promise<ClusterResult> {
  const home = mkdtempSync(join(tmpdir(), 'chaoscope-bench-'));
  // loadgen is started but idle: it counts toward the cluster's memory, not toward the load.
  const serviceEnv = { gateway: unlimited, loadgen: { LOADGEN_AUTOSTART: 'false' } };
  let runtime = new ProcessRuntime({ home, logLevel: 'warn', serviceEnv });
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
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  try {
    const t0 = performance.now();
    const status = await runtime.up({
      gatewayPort: GATEWAY_PORT,
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
    const timelineLoad = (gateway: string, token: string, seconds = SECONDS) =>
      closedLoop(`${gateway}/api/timeline?limit=20`, {
        concurrency: CONCURRENCY,
        seconds,
        headers: { authorization: `Bearer ${token}` },
      });
    /**
     * Gateway load plus the CPU every service (and the telemetry back end, when given) used for
     * it: CPU per request barely depends on what else the shared machine runs, throughput does.
     */
    const measured = async (gateway: string, token: string, backendPid?: number) => {
      const pids = (await runtime.status()).services.flatMap((s) =>
        s.instances.flatMap((i) => (i.pid ? [i.pid] : [])),
      );
      const servicesBefore = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      const backendBefore = backendPid ? cpuMs(backendPid) : 0;
      const load = await timelineLoad(gateway, token);
      // The last spans of the load are exported and stored within a second; count their CPU too.
      if (backendPid) await new Promise((r) => setTimeout(r, 1_000));
      const services = pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - servicesBefore;
      const backendCpu = backendPid ? cpuMs(backendPid) - backendBefore : 0;
      return {
        load,
        cpuMsPerRequest: {
          services: round(services / load.requests, 3),
          telemetryBackend: round(backendCpu / load.requests, 3),
          total: round((services + backendCpu) / load.requests, 3),
        },
      };
    };
    const viaGatewayMeasured = await measured(g, reader.accessToken);
    const viaGateway = viaGatewayMeasured.load;
    const afterLoad = await memoryOf();

    // Tracing on against off: the same cluster and data restarted with every service exporting to
    // the app's collector, then without, in alternating rounds so that a change in what else runs
    // on the machine does not fall on one side only.
    const backendDir = mkdtempSync(join(tmpdir(), 'chaoscope-bench-telemetry-'));
    backend = await startBackend(backendDir);
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    /**
     * `frame`: services started with --experimental-async-context-frame, which makes Node 22's
     * AsyncLocalStorage (the OpenTelemetry context manager) cost nothing per promise.
     */
    const restart = async (traced: boolean, frame = false) => {
      await runtime.down({ volumes: false });
      const nodeOptions = [
        ...(frame ? [ASYNC_CONTEXT_FRAME] : []),
        ...(traced && PROFILE_DIR ? [`--cpu-prof --cpu-prof-dir=${PROFILE_DIR}`] : []),
      ].join(' ');
      const withOptions = (env: Record<string, string> = {}) =>
        nodeOptions ? { ...env, NODE_OPTIONS: nodeOptions } : env;
      runtime = new ProcessRuntime({
        home,
        logLevel: 'warn',
        env: traced ? { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: backend!.otlpUrl } : process.env,
        serviceEnv: Object.fromEntries(
          CLUSTER_SPEC.map((spec) => [
            spec.name,
            withOptions(serviceEnv[spec.name as keyof typeof serviceEnv]),
          ]),
        ),
      });
      const up = await runtime.up({ gatewayPort: GATEWAY_PORT, withLoadgen: true });
      const session = await login(up.gateway, 'bench_reader', 'bench-password');
      // Fresh processes: let the JIT warm up as the first run's had during seeding and loads.
      await timelineLoad(up.gateway, session.accessToken, 3);
      return measured(up.gateway, session.accessToken, traced ? backend!.pid : undefined);
    };
    const off = [viaGatewayMeasured];
    const on = [];
    const onFrame = [];
    for (let round_ = 0; round_ < TRACING_ROUNDS; round_++) {
      on.push(await restart(true));
      onFrame.push(await restart(true, true));
      if (round_ + 1 < TRACING_ROUNDS) off.push(await restart(false));
    }
    await runtime.down({ volumes: true });
    const stored = await backend.stop();
    backend = undefined;
    rmSync(backendDir, { recursive: true, force: true });
    const sum = (runs: typeof off) => ({
      requests: runs.reduce((a, r) => a + r.load.requests, 0),
      seconds: runs.reduce((a, r) => a + r.load.seconds, 0),
      cpu: runs.reduce((a, r) => a + r.cpuMsPerRequest.total * r.load.requests, 0),
    });
    const offSum = sum(off);
    const onSum = sum(on);
    const tracingOff = { ...off.at(-1)!.load, requestsPerSecond: round(offSum.requests / offSum.seconds) };
    const tracingOn = { ...on.at(-1)!.load, requestsPerSecond: round(onSum.requests / onSum.seconds) };
    const frameSum = sum(onFrame);
    const tracingOnFrame = {
      ...onFrame.at(-1)!.load,
      requestsPerSecond: round(frameSum.requests / frameSum.seconds),
    };

    return {
      when: new Date().toISOString(),
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
      tracing: {
        rounds: TRACING_ROUNDS,
        off: tracingOff,
        on: tracingOn,
        runs: { off, on },
        throughputRatio: round(tracingOn.requestsPerSecond / tracingOff.requestsPerSecond, 3),
        p50Ratio: round(tracingOn.latencyMs.p50 / tracingOff.latencyMs.p50, 2),
        p99Ratio: round(tracingOn.latencyMs.p99 / tracingOff.latencyMs.p99, 2),
        cpuMsPerRequest: {
          off: round(offSum.cpu / offSum.requests, 3),
          on: round(onSum.cpu / onSum.requests, 3),
        },
        cpuPerRequestRatio: round(onSum.cpu / onSum.requests / (offSum.cpu / offSum.requests), 3),
        withAsyncContextFrame: {
          on: tracingOnFrame,
          runs: onFrame,
          throughputRatio: round(tracingOnFrame.requestsPerSecond / tracingOff.requestsPerSecond, 3),
          cpuMsPerRequest: round(frameSum.cpu / frameSum.requests, 3),
          cpuPerRequestRatio: round(frameSum.cpu / frameSum.requests / (offSum.cpu / offSum.requests), 3),
        },
        stored: stored.rows,
      },
    };
  } finally {
    backend?.kill();
    await runtime.down({ volumes: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
}

/** Runs one of the telemetry benchmarks in its own process and returns the JSON it printed. */
async function subBench(file: string): Promise<unknown> {
  const child = spawn(process.execPath, [join(import.meta.dirname, file)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${file} exited with ${code}`);
  return JSON.parse(out) as unknown;
}

const previous: Partial<BenchResult> = existsSync(RESULT_FILE)
  ? (JSON.parse(readFileSync(RESULT_FILE, 'utf8')) as Partial<BenchResult>)
  : {};
const result: BenchResult = {
  // A part not run this time keeps its last result (its own machine and time are in it).
  ...(previous.cluster ? { cluster: previous.cluster } : {}),
  ...(previous.telemetry ? { telemetry: previous.telemetry } : {}),
  ...(previous.docker ? { docker: previous.docker } : {}),
  ...(previous.traceView ? { traceView: previous.traceView } : {}),
  when: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
  },
  parts: [...PARTS],
};
/** Written after each part, so a long telemetry part cut short still leaves the cluster figures. */
const save = () => {
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, 2)}\n`);
  writePerformanceReport(result);
};
if (PARTS.has('cluster')) {
  result.cluster = await clusterBench();
  save();
}
if (PARTS.has('telemetry')) {
  result.telemetry = {
    when: new Date().toISOString(),
    collector: (await subBench('telemetry-collector.ts')) as NonNullable<
      BenchResult['telemetry']
    >['collector'],
    store: (await subBench('telemetry-store.ts')) as NonNullable<BenchResult['telemetry']>['store'],
  };
  save();
}
if (PARTS.has('docker')) {
  result.docker = (await subBench('docker.ts')) as NonNullable<BenchResult['docker']>;
  save();
}
if (PARTS.has('trace-view')) {
  result.traceView = (await subBench('trace-view.ts')) as NonNullable<BenchResult['traceView']>;
  save();
}
console.log(JSON.stringify(result, null, 2));

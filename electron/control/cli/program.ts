/**
 * The `chaoscope` command: a thin client of the control-plane API. It finds a running control
 * plane through its state file (<home>/control/state.json, mode 0600); `up` and `serve` start one
 * when none runs. `status`, `down`, `kill`, `restart` and `start` also work with no control plane,
 * straight on the runtime, because they need nothing else.
 *
 * Every verb takes `--json` (one JSON object on stdout), prints progress and errors on stderr,
 * and exits with:
 *   0 success · 1 the operation failed · 2 the command was called wrongly · 3 no cluster (or no
 *   control plane) is running · 130 interrupted.
 * Stack traces only with CHAOSCOPE_DEBUG=1.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ChaoscopeApi } from '../../api/client.ts';
import { ApiError, type ApiErrorCode } from '../../api/errors.ts';
import type { ClusterStatus as ApiClusterStatus, FaultSpecInput } from '../../api/schemas.ts';
import type { ServiceName } from '../../../sample-cluster/cluster.ts';
import { RuntimeError, isRuntimeError } from '../../../sample-cluster/runtime/errors.ts';
import { createRuntime as defaultCreateRuntime } from '../../../sample-cluster/runtime/select.ts';
import type { ClusterRuntime, RuntimeKind } from '../../../sample-cluster/runtime/types.ts';
import { appVersion } from '../app-version.ts';
import type { ControlPlane, ControlPlaneOptions } from '../control-plane.ts';
import { controlPaths } from '../paths.ts';
import {
  RUNTIME_CHOICES,
  UsageError,
  parseBreakerName,
  parseDuration,
  parsePort,
  parsePositiveInt,
  parseRate,
  parseService,
  parseSignal,
  parseStatus,
  parseTraceId,
  resolveRuntime,
  type RuntimeChoice,
} from './args.ts';
import { connectToRunning, localConnection, type Connection } from './connection.ts';
import { startDaemon } from './daemon.ts';
import {
  changes,
  downText,
  painter,
  progressText,
  serviceText,
  statusText,
  upText,
  type OutputStream,
} from './output.ts';
import { authVerbs } from './verbs/auth.ts';
import { chaosVerbs } from './verbs/chaos.ts';
import { experimentsVerbs } from './verbs/experiments.ts';
import { insightVerbs } from './verbs/insight.ts';
import { schedulesVerbs } from './verbs/schedules.ts';
import type { VerbTools } from './verbs/tools.ts';
import { breakerActText, breakersText, faultSummary, faultsText, traceText, tracesText } from './views.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2, noCluster: 3, interrupted: 130 } as const;

/** Where web mode listens unless told otherwise (the next free port when busy). */
export const DEFAULT_DASHBOARD_PORT = 7788;

export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

export interface CliContext {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  /** Which engine drives the cluster; tests give one with their own service list. */
  readonly createRuntime: NonNullable<ControlPlaneOptions['createRuntime']>;
  /** Where Ctrl+C comes from in the foreground `up` and `serve`. */
  readonly signals: SignalSource;
  /** How often the foreground `up` without a control plane looks at the cluster. */
  readonly watchIntervalMs: number;
}

export function defaultContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    createRuntime: defaultCreateRuntime,
    signals: process,
    watchIntervalMs: 2_000,
  };
}

interface JsonOption {
  json?: boolean;
}

/** Run one command line (the arguments after `chaoscope`); resolves with the exit code. */
export async function runCli(args: readonly string[], partial: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = { ...defaultContext(), ...partial };
  const wantsJson = args.includes('--json');
  let exitCode: number = EXIT.ok;
  const connections: Connection[] = [];
  const program = buildProgram(ctx, (code) => (exitCode = code), connections);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(ctx, error, wantsJson);
  } finally {
    for (const connection of connections) connection.close();
  }
}

function buildProgram(ctx: CliContext, setExit: (code: number) => void, connections: Connection[]): Command {
  const paths = controlPaths(ctx.env);
  const paint = () => painter(ctx.stdout, ctx.env);

  /** The running control plane, or null. */
  const running = async (): Promise<Connection | null> => {
    const connection = await connectToRunning(paths);
    if (connection) connections.push(connection);
    return connection;
  };
  /** The running control plane, or NO_CONTROL_PLANE. */
  const api = async (): Promise<ChaoscopeApi> => {
    const connection = await running();
    if (!connection) {
      throw new ApiError(
        'NO_CONTROL_PLANE',
        'no control plane is running; start one with `chaoscope up` (cluster and control plane) or `chaoscope serve`',
      );
    }
    return connection.api;
  };
  /** Straight on the runtime, for the verbs that work without a control plane. */
  const runtime = (): ClusterRuntime => ctx.createRuntime('process', { env: ctx.env, home: paths.home });

  const program = new Command('chaoscope');
  // Set before adding subcommands: they inherit these.
  program
    .description('Chaoscope: run the tweet cluster, break it, and watch it cope.')
    .version(appVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      outputError: (text, write) => write(`chaoscope: ${text.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 failed, 2 wrong usage, 3 no cluster (or control plane) running, 130 interrupted.\nState lives in $CHAOSCOPE_HOME (default $XDG_DATA_HOME/chaoscope or ~/.local/share/chaoscope).`,
    );

  // --- the control plane and the cluster ------------------------------------------------------

  program
    .command('serve')
    .description('run the control plane and the web dashboard (no cluster is started); Ctrl+C stops it')
    .option(
      '--port <port>',
      `web dashboard port (default ${DEFAULT_DASHBOARD_PORT}, or the next free one; 0: any)`,
      parsePortOrZero,
    )
    .addOption(new Option('--daemon', 'run in the background (used by `up --detach`)').hideHelp())
    .option('--json', 'print the URLs as JSON')
    .action(async (options: JsonOption & { port?: number; daemon?: boolean }) => {
      setExit(await serve(ctx, options));
    });

  program
    .command('up')
    .description(
      'start the tweet cluster; in the foreground until Ctrl+C, or in the background with --detach',
    )
    .addOption(new Option('--runtime <kind>', 'where services run').choices(RUNTIME_CHOICES).default('auto'))
    .option('--detach', 'return once every service is healthy and leave the cluster running')
    .option('--loadgen', 'also start the traffic generator')
    .option(
      '--services <names>',
      'start only these services (comma-separated) and what they depend on',
      parseServiceList,
    )
    .option(
      '--gateway-port <port>',
      'preferred gateway port; the next free one is used when busy',
      parsePortOption,
    )
    .option('--port <port>', 'web dashboard port when a control plane is started', parsePortOrZero)
    .option('--json', 'print the cluster as JSON')
    .action(async (options: UpOptions) => {
      setExit(await up(ctx, options, running));
    });

  program
    .command('down')
    .description('stop the cluster (its data is kept unless --volumes)')
    .option('--volumes', "also remove the services' data")
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { volumes?: boolean }) => {
      const connection = await running();
      const volumes = options.volumes === true;
      const result = connection
        ? await connection.api.cluster.down({ volumes })
        : await runtime().down({ volumes });
      // A control plane that `up --detach` started for the cluster goes with it.
      if (connection?.state?.mode === 'daemon') await connection.api.system.shutdown({ stopCluster: false });
      print(ctx, options, result, () => downText(result));
    });

  program
    .command('status')
    .description('every service and instance with its state, health and address')
    .option('--json', 'print the status as JSON')
    .action(async (options: JsonOption) => {
      const connection = await running();
      const status = connection ? await connection.api.cluster.status() : await runtime().status();
      print(ctx, options, status, () => statusText(status, paint()));
    });

  // --- chaos on services ----------------------------------------------------------------------

  program
    .command('kill')
    .description('signal a service (SIGKILL by default); nothing restarts it')
    .argument('<service>', 'service name')
    .option('--signal <signal>', 'signal to send, e.g. SIGTERM, SIGSTOP, SIGCONT', 'SIGKILL')
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption & { signal: string; instance?: string }) => {
      const service = parseService(name);
      const signal = parseSignal(options.signal);
      const instance = options.instance ? { instanceId: options.instance } : {};
      const connection = await running();
      const result = connection
        ? await connection.api.service.kill({ service, signal, ...instance })
        : await runtime().kill(service, { signal, ...instance });
      print(ctx, options, result, () => serviceText(`sent ${signal} to`, result, paint()));
    });

  program
    .command('restart')
    .description('stop a service gracefully and start it again at the same address')
    .argument('<service>', 'service name')
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption & { instance?: string }) => {
      const service = parseService(name);
      const instance = options.instance ? { instanceId: options.instance } : {};
      const connection = await running();
      const result = connection
        ? await connection.api.service.restart({ service, ...instance })
        : await runtime().restart(service, instance);
      print(ctx, options, result, () => serviceText('restarted', result, paint()));
    });

  program
    .command('start')
    .description('start a service that is not running (killed, exited, or never started)')
    .argument('<service>', 'service name')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption) => {
      const service: ServiceName = parseService(name);
      const connection = await running();
      const result = connection
        ? await connection.api.service.start({ service })
        : await runtime().start(service);
      print(ctx, options, result, () => serviceText('started', result, paint()));
    });

  program
    .command('pause')
    .description('freeze a service for a while (it keeps its connections but answers nothing)')
    .argument('<service>', 'service name')
    .option('--for <duration>', 'how long, e.g. 10s', durationOption, 10_000)
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: JsonOption & { for: number; instance?: string }) => {
      const service = parseService(name);
      const result = await (
        await api()
      ).service.pause({
        service,
        durationMs: options.for,
        ...(options.instance ? { instanceId: options.instance } : {}),
      });
      print(ctx, options, result, () =>
        serviceText(`paused until ${result.resumesAt}:`, result.service, paint()),
      );
    });

  program
    .command('resume')
    .description('thaw a paused service now')
    .argument('<service>', 'service name')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption) => {
      const result = await (await api()).service.resume({ service: parseService(name) });
      print(ctx, options, result, () => serviceText('resumed', result, paint()));
    });

  program
    .command('partition')
    .description('cut a service off the network for a while (Docker runtimes)')
    .argument('<service>', 'service name')
    .option('--for <duration>', 'how long, e.g. 30s', durationOption, 30_000)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: JsonOption & { for: number }) => {
      const service = parseService(name);
      const result = await (await api()).service.partition({ service, durationMs: options.for });
      print(ctx, options, result, () =>
        serviceText(`partitioned until ${result.healsAt}:`, result.service, paint()),
      );
    });

  program
    .command('fault')
    .description(
      "inject faults into a service's request handling (rolled back after --for, or by `faults reset`)",
    )
    .argument('<service>', 'service name')
    .option('--latency <duration>', 'added latency, e.g. 200ms', durationOption)
    .option('--jitter <duration>', 'latency jitter, e.g. 50ms (with --latency)', durationOption)
    .option('--error-rate <rate>', 'share of requests answered with an error, 0..1', rateOption)
    .option('--error-status <status>', 'status of those errors (default 503)', statusOption)
    .option('--abort-rate <rate>', 'share of connections reset, 0..1', rateOption)
    .option('--route <prefix>', 'only requests whose path starts with this')
    .option('--caller <service>', 'only requests from this service')
    .option('--for <duration>', 'roll back after this long, e.g. 30s', durationOption)
    .option('--instance <id>', 'only this instance')
    .option('--dry-run', 'say what would be injected, inject nothing')
    .option('--json', 'print the faults as JSON')
    .action(async (name: string, options: FaultOptions) => {
      const service = parseService(name);
      const faults = faultSpecs(options);
      const result = await (
        await api()
      ).faults.inject({
        service,
        faults,
        dryRun: options.dryRun === true,
        ...(options.instance ? { instanceId: options.instance } : {}),
      });
      print(ctx, options, result, () =>
        result.dryRun
          ? `dry run: would inject ${faults.length} fault(s) into ${result.targets.join(', ')}\n`
          : `${result.injected.map((f) => `${f.instanceId}: ${faultSummary(f)} (${f.id}${f.expiresAt ? `, until ${f.expiresAt}` : ', until `chaoscope faults reset`'})`).join('\n')}\n`,
      );
    });

  program
    .command('faults')
    .description('list active faults; `faults reset` rolls every one back')
    .argument('[action]', '"reset" to roll back every fault')
    .option('--service <name>', 'only this service')
    .option('--json', 'print the faults as JSON')
    .action(async (action: string | undefined, options: JsonOption & { service?: string }) => {
      if (action !== undefined && action !== 'reset')
        throw new UsageError(`unknown action "${action}"; use \`chaoscope faults reset\``);
      const service = options.service ? { service: parseService(options.service) } : {};
      const client = await api();
      if (action === 'reset') {
        const result = await client.faults.reset(service);
        print(
          ctx,
          options,
          result,
          () =>
            `rolled back ${result.removed} fault(s)${result.unreachable.length ? `; could not reach ${result.unreachable.map((u) => u.instanceId).join(', ')}` : ''}\n`,
        );
        if (result.unreachable.length > 0) setExit(EXIT.failed);
        return;
      }
      const result = await client.faults.list(service);
      print(ctx, options, result, () => faultsText(result.faults, result.unreachable, paint()));
    });

  // --- breakers -------------------------------------------------------------------------------

  program
    .command('breakers')
    .description('every circuit breaker with its state and rolling stats')
    .option('--service <name>', 'only the breakers of this (calling) service')
    .option('--json', 'print the breakers as JSON')
    .action(async (options: JsonOption & { service?: string }) => {
      const result = await (
        await api()
      ).breakers.list(options.service ? { service: parseService(options.service) } : {});
      print(ctx, options, result, () => breakersText(result.breakers, result.unreachable, paint()));
    });

  program
    .command('breaker')
    .description('force a breaker open or closed, or reset it to automatic')
    .argument('<caller:callee>', 'the breaker, e.g. gateway:timeline')
    .addArgument(
      new Command().createArgument('<action>', 'open, close or reset').choices(['open', 'close', 'reset']),
    )
    .option('--json', 'print the breaker as JSON')
    .action(async (name: string, action: 'open' | 'close' | 'reset', options: JsonOption) => {
      const breaker = parseBreakerName(name);
      const result = await (await api()).breakers.act({ breaker, action });
      print(ctx, options, result, () => breakerActText(result.breakers, paint()));
    });

  // --- traces ---------------------------------------------------------------------------------

  program
    .command('traces')
    .description('search the stored traces (newest first)')
    .option('--service <name>', 'a span of this service')
    .option('--operation <name>', 'a span with this name, e.g. "GET /api/timeline"')
    .option('--errors', 'only traces with an error span')
    .option('--min-duration <duration>', 'a span at least this long, e.g. 100ms', durationOption)
    .option('--since <duration>', 'started within this long, e.g. 15m', durationOption)
    .option('--limit <n>', 'at most this many (default 20)', (v: string) => positiveOption(v, 'limit', 1000))
    .option('--json', 'print the traces as JSON')
    .action(
      async (
        options: JsonOption & {
          service?: string;
          operation?: string;
          errors?: boolean;
          minDuration?: number;
          since?: number;
          limit?: number;
        },
      ) => {
        const result = await (
          await api()
        ).traces.search({
          ...(options.service ? { service: options.service } : {}),
          ...(options.operation ? { operation: options.operation } : {}),
          ...(options.errors ? { status: 'error' as const } : {}),
          ...(options.minDuration !== undefined ? { minDurationMs: options.minDuration } : {}),
          ...(options.since !== undefined ? { from: Date.now() - options.since } : {}),
          limit: options.limit ?? 20,
        });
        print(ctx, options, result, () => tracesText(result.traces, paint()));
      },
    );

  program
    .command('trace')
    .description('one whole trace: every span, as a tree')
    .argument('<traceId>', '32 hex characters')
    .option('--json', 'print the trace as JSON')
    .action(async (id: string, options: JsonOption) => {
      const trace = await (await api()).traces.get({ traceId: parseTraceId(id) });
      print(ctx, options, trace, () => traceText(trace, paint()));
    });

  program
    .command('logs')
    .description("the last lines of a service's log")
    .argument('<service>', 'service name')
    .option('--lines <n>', 'how many (default 50)', (v: string) => positiveOption(v, 'number of lines', 5000))
    .option('--json', 'print the lines as JSON')
    .action(async (name: string, options: JsonOption & { lines?: number }) => {
      const result = await (
        await api()
      ).service.logs({ service: parseService(name), lines: options.lines ?? 50 });
      print(ctx, options, result, () =>
        result.instances.map((i) => `==> ${i.instanceId} <==\n${i.lines.join('\n')}\n`).join('\n'),
      );
    });

  const tools: VerbTools = {
    ctx,
    api,
    paint,
    print: (options, value, human) => print(ctx, options, value, human),
    setExit,
    interrupted: (until) => interrupted(ctx, until),
  };
  for (const group of [chaosVerbs, schedulesVerbs, authVerbs, experimentsVerbs, insightVerbs])
    group(program, tools);

  return program;
}

// --- option parsers (commander names the option when they throw its error type) ------------------

function commanderSafe<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
const parsePortOption = (value: string) => commanderSafe(() => parsePort(value));
const parsePortOrZero = (value: string) => (value.trim() === '0' ? 0 : parsePortOption(value));
const durationOption = (value: string) => commanderSafe(() => parseDuration(value));
const rateOption = (value: string) => commanderSafe(() => parseRate(value));
const statusOption = (value: string) => commanderSafe(() => parseStatus(value));
const positiveOption = (value: string, what: string, max: number) =>
  commanderSafe(() => parsePositiveInt(value, what, max));
const parseServiceList = (value: string) =>
  commanderSafe(() =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(parseService),
  );

interface FaultOptions extends JsonOption {
  latency?: number;
  jitter?: number;
  errorRate?: number;
  errorStatus?: number;
  abortRate?: number;
  route?: string;
  caller?: string;
  for?: number;
  instance?: string;
  dryRun?: boolean;
}

function faultSpecs(options: FaultOptions): FaultSpecInput[] {
  const target = {
    ...(options.route ? { route: options.route } : {}),
    ...(options.caller ? { caller: parseService(options.caller) } : {}),
    ...(options.for !== undefined ? { durationMs: options.for } : {}),
  };
  const specs: FaultSpecInput[] = [];
  if (options.jitter !== undefined && options.latency === undefined)
    throw new UsageError('--jitter goes with --latency');
  if (options.errorStatus !== undefined && options.errorRate === undefined)
    throw new UsageError('--error-status goes with --error-rate');
  if (options.latency !== undefined)
    specs.push({ kind: 'latency', latencyMs: options.latency, jitterMs: options.jitter ?? 0, ...target });
  if (options.errorRate !== undefined)
    specs.push({
      kind: 'error',
      status: options.errorStatus ?? 503,
      probability: options.errorRate,
      ...target,
    });
  if (options.abortRate !== undefined)
    specs.push({ kind: 'abort', probability: options.abortRate, ...target });
  if (specs.length === 0)
    throw new UsageError('say what to inject: --latency, --error-rate and/or --abort-rate');
  return specs;
}

// --- serve and up -------------------------------------------------------------------------------

/** Resolves when Ctrl+C (or SIGTERM) arrives, or `until` settles. */
function interrupted(
  ctx: CliContext,
  until?: Promise<unknown>,
): { done: Promise<'signal' | 'other'>; dispose(): void } {
  let onSignal: () => void = () => undefined;
  const signal = new Promise<'signal'>((resolve) => (onSignal = () => resolve('signal')));
  ctx.signals.on('SIGINT', onSignal);
  ctx.signals.on('SIGTERM', onSignal);
  const done = Promise.race([
    signal,
    ...(until
      ? [
          until.then(
            () => 'other' as const,
            () => 'other' as const,
          ),
        ]
      : []),
  ]);
  return {
    done,
    dispose() {
      ctx.signals.off('SIGINT', onSignal);
      ctx.signals.off('SIGTERM', onSignal);
    },
  };
}

async function startPlane(
  ctx: CliContext,
  mode: 'serve' | 'daemon' | 'foreground',
  port: number | undefined,
  onShutdown: (stopCluster: boolean) => void,
): Promise<ControlPlane> {
  // Loaded only by the verbs that run one: the store, the collector and web mode are heavy.
  const { startControlPlane } = await import('../control-plane.ts');
  return startControlPlane({
    env: ctx.env,
    webPort: port ?? DEFAULT_DASHBOARD_PORT,
    webPortFallback: port === undefined,
    mode,
    createRuntime: ctx.createRuntime,
    onShutdownRequest: onShutdown,
  });
}

async function serve(
  ctx: CliContext,
  options: JsonOption & { port?: number; daemon?: boolean },
): Promise<number> {
  let requested: (stopCluster: boolean) => void = () => undefined;
  const shutdown = new Promise<boolean>((resolve) => (requested = resolve));
  const plane = await startPlane(ctx, options.daemon ? 'daemon' : 'serve', options.port, (stop) =>
    requested(stop),
  );
  const wait = interrupted(ctx, shutdown);
  try {
    const dashboard = `${plane.url}/?token=${encodeURIComponent(plane.token)}`;
    const info = {
      dashboard,
      url: plane.url,
      collector: plane.collectorUrl,
      pid: process.pid,
      notices: plane.notices,
    };
    print(ctx, options, info, () =>
      [
        `Chaoscope control plane (pid ${process.pid})`,
        '',
        `  dashboard  ${dashboard}`,
        `  collector  ${plane.collectorUrl} (OTLP/HTTP)`,
        ...plane.notices.map((n) => `  note: ${n}`),
        '',
        options.daemon
          ? 'Running in the background.'
          : 'No cluster was started (use `chaoscope up`). Ctrl+C stops the control plane.',
        '',
      ].join('\n'),
    );
    await wait.done;
    const stopCluster = await Promise.race([shutdown, Promise.resolve(false)]);
    await plane.close({ stopCluster });
    return EXIT.ok;
  } finally {
    wait.dispose();
    await plane.close();
  }
}

interface UpOptions extends JsonOption {
  runtime: RuntimeChoice;
  detach?: boolean;
  loadgen?: boolean;
  services?: ServiceName[];
  gatewayPort?: number;
  port?: number;
}

async function up(
  ctx: CliContext,
  options: UpOptions,
  running: () => Promise<Connection | null>,
): Promise<number> {
  // Checked here so a runtime this build lacks is a usage error; `auto` is decided by the control plane.
  const kind: RuntimeKind | 'auto' = options.runtime === 'auto' ? 'auto' : resolveRuntime(options.runtime);
  const err = painter(ctx.stderr, ctx.env);
  const began = Date.now();
  let connection = await running();
  let plane: ControlPlane | null = null;
  if (!connection && options.detach) {
    await startDaemon(
      controlPaths(ctx.env),
      ctx.env,
      options.port !== undefined ? { port: options.port } : {},
    );
    connection = await running();
    if (!connection)
      throw new ApiError('FAILED', 'the control plane started and vanished at once; see its log');
  }
  if (!connection) {
    plane = await startPlane(ctx, 'foreground', options.port, () => undefined);
    connection = localConnection(plane);
  }
  const { api } = connection;
  const abort = new AbortController();
  const sigint = interrupted(ctx);
  void sigint.done.then(() => abort.abort());
  try {
    const offProgress = api.on('cluster.progress', (event) =>
      ctx.stderr.write(`${progressText(event, err)}\n`),
    );
    await connection.eventsReady();
    let status: ApiClusterStatus & { adopted: boolean };
    try {
      status = await api.cluster.up(
        {
          runtime: kind,
          ...(options.loadgen ? { loadgen: true } : {}),
          ...(options.services ? { services: options.services } : {}),
          ...(options.gatewayPort !== undefined ? { gatewayPort: options.gatewayPort } : {}),
        },
        { signal: abort.signal },
      );
    } catch (error) {
      if (abort.signal.aborted) {
        ctx.stderr.write('chaoscope: interrupted; what had started was stopped again\n');
        return EXIT.interrupted;
      }
      throw error;
    }
    // The last progress batch may still be on its way.
    await sleep(300);
    offProgress();
    const foreground = options.detach !== true;
    const json = { ...status, dashboard: connection.dashboard };
    print(ctx, options, json, () =>
      upText(status, painter(ctx.stdout, ctx.env), {
        foreground,
        adopted: status.adopted,
        seconds: (Date.now() - began) / 1000,
        collector: status.collector,
        dashboard: connection.dashboard,
      }),
    );
    if (!foreground) return EXIT.ok;
    if (!abort.signal.aborted) await watchUntilInterrupted(ctx, api, status, abort.signal);
    if (status.adopted && !plane) return EXIT.ok;
    if (!status.adopted) {
      ctx.stderr.write('stopping the cluster…\n');
      ctx.stderr.write(downText(await api.cluster.down({ volumes: false })));
    }
    return EXIT.ok;
  } finally {
    sigint.dispose();
    if (plane) await plane.close();
  }
}

/**
 * Stay in the foreground, reporting every state change (a kill from another terminal shows here),
 * until Ctrl+C or until the cluster is taken down elsewhere.
 */
async function watchUntilInterrupted(
  ctx: CliContext,
  api: ChaoscopeApi,
  initial: ApiClusterStatus,
  signal: AbortSignal,
): Promise<void> {
  const err = painter(ctx.stderr, ctx.env);
  let last = initial;
  await new Promise<void>((resolve) => {
    let off: () => void = () => undefined;
    const finish = () => {
      off();
      resolve();
    };
    signal.addEventListener('abort', finish, { once: true });
    off = api.on('cluster.status', ({ status }) => {
      if (!status) {
        ctx.stderr.write('the cluster was stopped elsewhere; nothing left to watch\n');
        return finish();
      }
      if (status.clusterId !== last.clusterId) {
        ctx.stderr.write(`another cluster (${status.clusterId}) replaced this one; nothing left to watch\n`);
        return finish();
      }
      const time = new Date().toISOString().slice(11, 19);
      for (const line of changes(last, status)) ctx.stderr.write(`${err('dim', time)}  ${line}\n`);
      last = status;
    });
  });
}

// --- output and errors ----------------------------------------------------------------------------

function print(ctx: CliContext, options: JsonOption, value: unknown, human: () => string): void {
  ctx.stdout.write(options.json ? `${JSON.stringify(value)}\n` : human());
}

function reportError(ctx: CliContext, error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" only to commander.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.help' ||
      error.code === 'commander.version'
    )
      return EXIT.ok;
    if (json)
      ctx.stdout.write(
        `${JSON.stringify({ error: { code: 'USAGE', message: error.message.replace(/^error: /, '') } })}\n`,
      );
    return EXIT.usage;
  }
  const { code, exit } = classify(error);
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'failed';
  ctx.stderr.write(`chaoscope: ${message}\n`);
  const details = error instanceof RuntimeError || error instanceof ApiError ? (error.details ?? []) : [];
  for (const line of details) ctx.stderr.write(`${line}\n`);
  if (ctx.env.CHAOSCOPE_DEBUG === '1' && error instanceof Error && error.stack)
    ctx.stderr.write(`${error.stack}\n`);
  if (json)
    ctx.stdout.write(
      `${JSON.stringify({ error: { code, message, ...(details.length ? { details } : {}) } })}\n`,
    );
  return exit;
}

const API_EXIT: Partial<Record<ApiErrorCode, number>> = {
  NO_CLUSTER: EXIT.noCluster,
  NO_CONTROL_PLANE: EXIT.noCluster,
  BAD_REQUEST: EXIT.usage,
  ABORTED: EXIT.interrupted,
};

function classify(error: unknown): { code: string; exit: number } {
  if (error instanceof UsageError) return { code: 'USAGE', exit: EXIT.usage };
  if (error instanceof ApiError) return { code: error.code, exit: API_EXIT[error.code] ?? EXIT.failed };
  if (error instanceof RuntimeError) {
    if (error.code === 'NO_CLUSTER') return { code: error.code, exit: EXIT.noCluster };
    if (error.code === 'UNKNOWN_SERVICE') return { code: error.code, exit: EXIT.usage };
    return { code: error.code, exit: EXIT.failed };
  }
  if (isRuntimeError(error)) return { code: 'FAILED', exit: EXIT.failed };
  return { code: 'FAILED', exit: EXIT.failed };
}

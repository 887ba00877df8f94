/**
 * The `chaoscope` command. Every verb takes `--json` (one JSON object on stdout), prints progress
 * and errors on stderr, and exits with:
 *   0 success · 1 the operation failed · 2 the command was called wrongly · 3 no cluster is running
 *   · 130 interrupted while starting.
 * Stack traces only with CHAOSCOPE_DEBUG=1.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ServiceName } from '../../../sample-cluster/cluster.ts';
import { RuntimeError, isRuntimeError } from '../../../sample-cluster/runtime/errors.ts';
import { ProcessRuntime } from '../../../sample-cluster/runtime/process/runtime.ts';
import type { ClusterRuntime, ClusterStatus, RuntimeKind } from '../../../sample-cluster/runtime/types.ts';
import {
  RUNTIME_CHOICES,
  UsageError,
  parsePort,
  parseService,
  parseSignal,
  resolveRuntime,
  type RuntimeChoice,
} from './args.ts';
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

export const EXIT = { ok: 0, failed: 1, usage: 2, noCluster: 3, interrupted: 130 } as const;

export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

export interface CliContext {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  /** Which engine drives the cluster; tests give one with their own service list. */
  readonly createRuntime: (kind: RuntimeKind, env: NodeJS.ProcessEnv) => ClusterRuntime;
  /** Where Ctrl+C comes from in the foreground `up`. */
  readonly signals: SignalSource;
  /** How often the foreground `up` looks at the cluster. */
  readonly watchIntervalMs: number;
}

export function defaultContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    createRuntime: (kind, env) => {
      if (kind !== 'process') throw new UsageError(`the ${kind} runtime is not available yet`);
      return new ProcessRuntime({ env });
    },
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
  const program = buildProgram(ctx, (code) => (exitCode = code));
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(ctx, error, wantsJson);
  }
}

function buildProgram(ctx: CliContext, setExit: (code: number) => void): Command {
  const program = new Command('chaoscope');
  // Set before adding subcommands: they inherit these.
  program
    .description('Chaoscope: run the tweet cluster, break it, and watch it cope.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      outputError: (text, write) => write(`chaoscope: ${text.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 failed, 2 wrong usage, 3 no cluster running, 130 interrupted.\nState lives in $CHAOSCOPE_HOME (default $XDG_DATA_HOME/chaoscope or ~/.local/share/chaoscope).`,
    );

  program
    .command('up')
    .description(
      'start the tweet cluster; in the foreground until Ctrl+C, or in the background with --detach',
    )
    .addOption(new Option('--runtime <kind>', 'where services run').choices(RUNTIME_CHOICES).default('auto'))
    .option('--detach', 'return once every service is healthy and leave the cluster running')
    .option('--loadgen', 'also start the traffic generator')
    .option(
      '--gateway-port <port>',
      'preferred gateway port; the next free one is used when busy',
      parsePortOption,
    )
    .option('--json', 'print the cluster as JSON')
    .action(
      async (
        options: JsonOption & {
          runtime: RuntimeChoice;
          detach?: boolean;
          loadgen?: boolean;
          gatewayPort?: number;
        },
      ) => {
        setExit(await up(ctx, options));
      },
    );

  program
    .command('down')
    .description('stop the cluster (its data is kept unless --volumes)')
    .option('--volumes', "also remove the services' data")
    .option('--json', 'print the result as JSON')
    .action(async (options: JsonOption & { volumes?: boolean }) => {
      const result = await runtimeFor(ctx).down({ volumes: options.volumes === true });
      print(ctx, options, result, () => downText(result));
    });

  program
    .command('status')
    .description('every service and instance with its state, health and address')
    .option('--json', 'print the status as JSON')
    .action(async (options: JsonOption) => {
      const status = await runtimeFor(ctx).status();
      print(ctx, options, status, () => statusText(status, painter(ctx.stdout, ctx.env)));
    });

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
      const result = await runtimeFor(ctx).kill(service, {
        signal,
        ...(options.instance ? { instanceId: options.instance } : {}),
      });
      print(ctx, options, result, () =>
        serviceText(`sent ${signal} to`, result, painter(ctx.stdout, ctx.env)),
      );
    });

  program
    .command('restart')
    .description('stop a service gracefully and start it again at the same address')
    .argument('<service>', 'service name')
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption & { instance?: string }) => {
      const service = parseService(name);
      const result = await runtimeFor(ctx).restart(
        service,
        options.instance ? { instanceId: options.instance } : {},
      );
      print(ctx, options, result, () => serviceText('restarted', result, painter(ctx.stdout, ctx.env)));
    });

  program
    .command('start')
    .description('start a service that is not running (killed, exited, or never started)')
    .argument('<service>', 'service name')
    .option('--json', 'print the service as JSON')
    .action(async (name: string, options: JsonOption) => {
      const service: ServiceName = parseService(name);
      const result = await runtimeFor(ctx).start(service);
      print(ctx, options, result, () => serviceText('started', result, painter(ctx.stdout, ctx.env)));
    });

  return program;
}

/** The verbs after `up` act on the cluster that exists; today that can only be a process cluster. */
function runtimeFor(ctx: CliContext): ClusterRuntime {
  return ctx.createRuntime('process', ctx.env);
}

/** Commander names the option in its message when a parser throws its own error type. */
function parsePortOption(value: string): number {
  try {
    return parsePort(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

async function up(
  ctx: CliContext,
  options: JsonOption & { runtime: RuntimeChoice; detach?: boolean; loadgen?: boolean; gatewayPort?: number },
): Promise<number> {
  const runtime = ctx.createRuntime(resolveRuntime(options.runtime), ctx.env);
  const err = painter(ctx.stderr, ctx.env);
  const began = Date.now();
  const interrupt = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    interrupt.abort();
  };
  ctx.signals.on('SIGINT', onSignal);
  ctx.signals.on('SIGTERM', onSignal);
  try {
    // A cluster that was already there is adopted, not started: Ctrl+C must not stop it.
    const existing = await runtime.status().catch(() => null);
    let status: ClusterStatus;
    try {
      status = await runtime.up({
        withLoadgen: options.loadgen === true,
        ...(options.gatewayPort !== undefined ? { gatewayPort: options.gatewayPort } : {}),
        onProgress: (event) => ctx.stderr.write(`${progressText(event, err)}\n`),
        signal: interrupt.signal,
      });
    } catch (error) {
      if (interrupted && isRuntimeError(error, 'ABORTED')) {
        ctx.stderr.write('chaoscope: interrupted; what had started was stopped again\n');
        return EXIT.interrupted;
      }
      throw error;
    }
    const adopted = existing?.clusterId === status.clusterId;
    const foreground = options.detach !== true;
    print(ctx, options, status, () =>
      upText(status, painter(ctx.stdout, ctx.env), {
        foreground,
        adopted,
        seconds: (Date.now() - began) / 1000,
      }),
    );
    if (!foreground) return EXIT.ok;
    if (!interrupted) await watchUntilInterrupted(ctx, runtime, status, interrupt.signal);
    if (adopted) return EXIT.ok;
    ctx.stderr.write('stopping the cluster…\n');
    const result = await runtime.down({ volumes: false });
    ctx.stderr.write(downText(result));
    return EXIT.ok;
  } finally {
    ctx.signals.off('SIGINT', onSignal);
    ctx.signals.off('SIGTERM', onSignal);
  }
}

/**
 * Stay in the foreground, reporting every state change (a kill from another terminal shows here),
 * until Ctrl+C or until the cluster is taken down elsewhere.
 */
async function watchUntilInterrupted(
  ctx: CliContext,
  runtime: ClusterRuntime,
  initial: ClusterStatus,
  signal: AbortSignal,
): Promise<void> {
  const err = painter(ctx.stderr, ctx.env);
  let last = initial;
  while (!signal.aborted) {
    await sleep(ctx.watchIntervalMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    let now: ClusterStatus;
    try {
      now = await runtime.status();
    } catch (error) {
      if (isRuntimeError(error, 'NO_CLUSTER')) {
        ctx.stderr.write('the cluster was stopped elsewhere; nothing left to watch\n');
        return;
      }
      throw error;
    }
    if (now.clusterId !== last.clusterId) {
      ctx.stderr.write(`another cluster (${now.clusterId}) replaced this one; nothing left to watch\n`);
      return;
    }
    const time = new Date().toISOString().slice(11, 19);
    for (const line of changes(last, now)) ctx.stderr.write(`${err('dim', time)}  ${line}\n`);
    last = now;
  }
}

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
  if (error instanceof RuntimeError) for (const line of error.details) ctx.stderr.write(`${line}\n`);
  if (ctx.env.CHAOSCOPE_DEBUG === '1' && error instanceof Error && error.stack)
    ctx.stderr.write(`${error.stack}\n`);
  if (json) ctx.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  return exit;
}

function classify(error: unknown): { code: string; exit: number } {
  if (error instanceof UsageError) return { code: 'USAGE', exit: EXIT.usage };
  if (error instanceof RuntimeError) {
    if (error.code === 'NO_CLUSTER') return { code: error.code, exit: EXIT.noCluster };
    if (error.code === 'UNKNOWN_SERVICE') return { code: error.code, exit: EXIT.usage };
    return { code: error.code, exit: EXIT.failed };
  }
  return { code: 'FAILED', exit: EXIT.failed };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

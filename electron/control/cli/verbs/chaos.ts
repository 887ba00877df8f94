/**
 * The chaos verbs of `chaoscope`: the engine's faults (`chaos list|apply|rollback|reset`), scaling
 * a service, and the markers kept with the telemetry. Every fault made here is journalled, rolled
 * back after its duration (or by `chaos reset` / `faults reset`), and marked on the charts.
 */
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  chaosFaultSchema,
  formatMs,
  type ChaosFaultInput,
  type FaultRecordInfo,
} from '../../../api/chaos.ts';
import type { StoredMarkerInfo } from '../../../api/chaos-commands.ts';
import { UsageError, parseDuration, parseService } from '../args.ts';
import type { JsonOption, VerbGroup } from './tools.ts';

const PICKS = ['one', 'random', 'percent', 'all'] as const;

/** A fault's one-line summary: state, description, time left, id. */
export function recordLine(r: FaultRecordInfo, now = Date.now()): string {
  const left =
    r.state === 'active' && r.expiresAt
      ? `, ${formatMs(Math.max(0, Date.parse(r.expiresAt) - now))} left`
      : r.state === 'active'
        ? ', until reset'
        : r.endReason
          ? ` (${r.endReason})`
          : '';
  const error = r.error ? `: ${r.error}` : r.undoErrors.length ? `: ${r.undoErrors.join('; ')}` : '';
  return `${r.state.padEnd(11)} ${r.description}${left}${error}  [${r.id}]`;
}

function markerLine(m: StoredMarkerInfo): string {
  const services = m.services.length ? ` (${m.services.join(', ')})` : '';
  return `${m.at}  ${m.phase.padEnd(11)} ${m.description}${services}${m.reason ? ` — ${m.reason}` : ''}`;
}

/** A fault from a JSON or YAML file, checked against the contract with every problem named. */
export function faultFromFile(path: string): ChaosFaultInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return checkFault(value, `in ${path}`);
}

function checkFault(value: unknown, where: string): ChaosFaultInput {
  const parsed = chaosFaultSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`);
    throw new UsageError(`invalid fault ${where}: ${problems.join('; ')}`);
  }
  return value as ChaosFaultInput;
}

interface ApplyOptions extends JsonOption {
  file?: string;
  type?: string;
  service?: string;
  pick?: (typeof PICKS)[number];
  instance?: string;
  percent?: string;
  action?: string;
  signal?: string;
  replicas?: string;
  latency?: number;
  status?: string;
  kind?: string;
  breaker?: string;
  user?: string;
  for?: number;
  dryRun?: boolean;
  label?: string;
}

/** Inline flags → the fault model; the contract's schema still has the last word. */
function faultFromFlags(o: ApplyOptions): ChaosFaultInput {
  if (!o.type) throw new UsageError('say what to apply: --file <fault.json|yaml>, or --type with its flags');
  const target = o.service
    ? {
        service: parseService(o.service),
        pick: o.pick ?? (o.instance ? 'one' : 'all'),
        ...(o.instance ? { instance: o.instance } : {}),
        ...(o.percent !== undefined ? { percent: Number(o.percent) } : {}),
      }
    : undefined;
  const common = {
    ...(o.for !== undefined ? { durationMs: o.for } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.label ? { label: o.label } : {}),
  };
  let value: unknown;
  switch (o.type) {
    case 'container':
      value = {
        type: 'container',
        target,
        change: {
          action: o.action,
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.replicas !== undefined ? { replicas: Number(o.replicas) } : {}),
        },
        ...common,
      };
      break;
    case 'request': {
      const kind =
        o.kind ?? (o.latency !== undefined ? 'latency' : o.status !== undefined ? 'error' : undefined);
      value = {
        type: 'request',
        target,
        fault: {
          kind,
          ...(o.latency !== undefined ? { latencyMs: o.latency } : {}),
          ...(o.status !== undefined ? { status: Number(o.status) } : {}),
        },
        ...common,
      };
      break;
    }
    case 'auth':
      value = {
        type: 'auth',
        ...(target ? { target } : {}),
        change: { action: o.action, ...(o.user ? { user: o.user } : {}) },
        ...common,
      };
      break;
    case 'breaker':
      value = { type: 'breaker', breaker: o.breaker, change: { action: o.action }, ...common };
      break;
    default:
      throw new UsageError(`unknown fault type "${o.type}"; use container, request, auth or breaker`);
  }
  return checkFault(value, 'from the flags');
}

export const chaosVerbs: VerbGroup = (program, tools) => {
  const print: typeof tools.print = (o, v, h) => tools.print(o, v, h);
  const setExit = (code: number) => tools.setExit(code);
  const api = () => tools.api();
  const paint = () => tools.paint();
  const duration = (value: string) => parseDuration(value);

  const chaos = program
    .command('chaos')
    .description('the chaos engine: apply faults of any kind, list them, roll them back');

  chaos
    .command('list')
    .description('active faults and recent history (newest first)')
    .option('--limit <n>', 'how many of the recent ones', '50')
    .option('--json', 'print { active, recent } as JSON')
    .action(async (options: JsonOption & { limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new UsageError(`--limit "${options.limit}" must be a whole number from 1 to 500`);
      const result = await (await api()).chaos.list({ limit });
      print(options, result, () => {
        const p = paint();
        const lines = [p('bold', `active (${result.active.length})`)];
        lines.push(...(result.active.length ? result.active.map((r) => `  ${recordLine(r)}`) : ['  none']));
        const ended = result.recent.filter((r) => r.state !== 'active');
        lines.push(p('bold', `recent (${ended.length})`));
        lines.push(...(ended.length ? ended.map((r) => `  ${recordLine(r)}`) : ['  none']));
        return `${lines.join('\n')}\n`;
      });
    });

  chaos
    .command('apply')
    .description('apply one fault, from a JSON/YAML file (the fault model) or from flags')
    .option('--file <path>', 'a fault as JSON or YAML (the model: docs/chaos.md)')
    .addOption(new Option('--type <type>', 'fault type').choices(['container', 'request', 'auth', 'breaker']))
    .option('--service <name>', 'target service')
    .addOption(new Option('--pick <how>', 'which instances (default all)').choices(PICKS))
    .option('--instance <id>', 'with --pick one: this instance')
    .option('--percent <n>', 'with --pick percent: this share of instances')
    .option('--action <action>', 'container/auth/breaker action, e.g. kill, pause, open, rotate-keys')
    .option('--signal <signal>', 'with --action kill')
    .option('--replicas <n>', 'with --action scale')
    .option('--kind <kind>', 'request fault kind: latency, error, abort, hang, bandwidth')
    .option('--latency <duration>', 'request latency, e.g. 300ms', duration)
    .option('--status <code>', 'error status, e.g. 503')
    .option('--breaker <name>', 'breaker, caller:callee')
    .option('--user <name>', 'with --action revoke-user')
    .option('--for <duration>', 'roll back after this long, e.g. 30s', duration)
    .option('--label <text>', 'a label for history and markers')
    .option('--dry-run', 'say what would happen; change nothing')
    .option('--json', 'print the fault record as JSON')
    .action(async (options: ApplyOptions) => {
      const fault = options.file ? faultFromFile(options.file) : faultFromFlags(options);
      const overrides = options.file
        ? {
            ...(options.for !== undefined ? { durationMs: options.for } : {}),
            ...(options.dryRun ? { dryRun: true } : {}),
          }
        : {};
      const record = await (await api()).chaos.apply({ ...fault, ...overrides });
      print(options, record, () =>
        record.state === 'dry-run'
          ? `dry run: ${record.description}\n${record.plan.map((l) => `  ${l}`).join('\n')}\n`
          : `${recordLine(record)}\n${record.plan.map((l) => `  ${l}`).join('\n')}\n`,
      );
      if (record.state === 'failed') setExit(1);
    });

  chaos
    .command('rollback')
    .description('roll one fault back now')
    .argument('<id>', 'the fault id (see `chaoscope chaos list`)')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, options: JsonOption) => {
      const record = await (await api()).chaos.rollback({ id });
      print(options, record, () => `${recordLine(record)}\n`);
      if (record.state === 'failed') setExit(1);
    });

  chaos
    .command('reset')
    .description('roll back every active fault of the engine (containers, requests, auth, breakers)')
    .option('--json', 'print the records as JSON')
    .action(async (options: JsonOption) => {
      const result = await (await api()).chaos.reset();
      print(options, result, () =>
        result.rolledBack.length === 0
          ? 'no fault was active\n'
          : `${result.rolledBack.map((r) => recordLine(r)).join('\n')}\n`,
      );
      if (result.rolledBack.some((r) => r.state === 'failed')) setExit(1);
    });

  program
    .command('scale')
    .description('run a service with N instances (Docker and Swarm runtimes); `chaos reset` scales it back')
    .argument('<service>', 'service name')
    .argument('<replicas>', 'how many instances, 0-20')
    .option('--for <duration>', 'scale back after this long, e.g. 5m', duration)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, count: string, options: JsonOption & { for?: number }) => {
      const service = parseService(name);
      const replicas = Number(count);
      if (!/^\d+$/.test(count.trim()) || replicas > 20)
        throw new UsageError(`"${count}" is not a replica count; use a whole number from 0 to 20`);
      const result = await (
        await api()
      ).service.scale({
        service,
        replicas,
        ...(options.for !== undefined ? { durationMs: options.for } : {}),
      });
      print(
        options,
        result,
        () =>
          `${service}: ${result.service.instances.length} instance(s) (${result.fault.description})  [${result.fault.id}]\n`,
      );
    });

  program
    .command('markers')
    .description('fault markers kept with the telemetry (applied, rolled back), oldest first')
    .option('--since <duration>', 'how far back, e.g. 10m', duration, 15 * 60_000)
    .option('--service <name>', 'only markers that name this service')
    .option('--json', 'print { markers } as JSON')
    .action(async (options: JsonOption & { since: number; service?: string }) => {
      const to = Date.now();
      const result = await (
        await api()
      ).telemetry.markers({
        from: to - options.since,
        to,
        ...(options.service ? { service: parseService(options.service) } : {}),
      });
      print(options, result, () =>
        result.markers.length === 0
          ? `no markers in the last ${formatMs(options.since)}\n`
          : `${result.markers.map(markerLine).join('\n')}\n`,
      );
    });
};

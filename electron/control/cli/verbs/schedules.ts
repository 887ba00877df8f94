/**
 * `chaoscope schedule …`: repeat a fault or an experiment on an interval, within a blast radius
 * (at most N of its faults active, at most a share of a service's instances hit).
 */
import { formatMs } from '../../../api/chaos.ts';
import type { Schedule } from '../../../api/schedules.ts';
import { UsageError, parseDuration } from '../args.ts';
import { faultFromFile } from './chaos.ts';
import type { JsonOption, VerbGroup } from './tools.ts';

function scheduleLine(s: Schedule): string {
  const what = s.what.kind === 'fault' ? `fault ${s.what.fault.type}` : `experiment ${s.what.experiment}`;
  const stats = `${s.stats.runs} run(s), ${s.stats.skipped} skipped, ${s.stats.failures} failed`;
  const last = s.stats.lastResult ? `; last: ${s.stats.lastResult}` : '';
  return `${s.enabled ? 'on ' : 'off'} ${s.name}: ${what} every ${formatMs(s.everyMs)} (${stats}${last})  [${s.id}]`;
}

const whole = (value: string, what: string, min: number, max: number) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
};

export const schedulesVerbs: VerbGroup = (program, tools) => {
  const print = tools.print.bind(tools);
  const schedule = program
    .command('schedule')
    .description('repeat a fault or an experiment on an interval, within a blast radius');

  schedule
    .command('list')
    .description('every schedule with its runs, skips and last result')
    .option('--json', 'print { schedules } as JSON')
    .action(async (options: JsonOption) => {
      const result = await (await tools.api()).schedules.list();
      print(options, result, () =>
        result.schedules.length === 0
          ? 'no schedules\n'
          : `${result.schedules.map(scheduleLine).join('\n')}\n`,
      );
    });

  schedule
    .command('add')
    .description('a new schedule: --fault-file <json|yaml> (with durationMs) or --experiment <name>')
    .requiredOption('--name <name>', 'what to call it')
    .requiredOption('--every <duration>', 'how often, e.g. 5m (at least 1s)', (v) => parseDuration(v))
    .option('--fault-file <path>', 'the fault, in the fault model (docs/chaos.md); it needs durationMs')
    .option('--experiment <name>', 'an experiment from `experiment list`')
    .option('--max-active <n>', 'at most this many of its faults active at once (default 1)', (v) =>
      whole(v, '--max-active', 1, 100),
    )
    .option('--max-percent <n>', "at most this share of a service's instances hit (default 100)", (v) =>
      whole(v, '--max-percent', 1, 100),
    )
    .option('--disabled', 'create it switched off')
    .option('--json', 'print the schedule as JSON')
    .action(
      async (
        options: JsonOption & {
          name: string;
          every: number;
          faultFile?: string;
          experiment?: string;
          maxActive?: number;
          maxPercent?: number;
          disabled?: boolean;
        },
      ) => {
        if ((options.faultFile === undefined) === (options.experiment === undefined))
          throw new UsageError(
            'say what to repeat: --fault-file <path> or --experiment <name> (one of them)',
          );
        const what = options.faultFile
          ? { kind: 'fault' as const, fault: faultFromFile(options.faultFile) }
          : { kind: 'experiment' as const, experiment: options.experiment! };
        const created = await (
          await tools.api()
        ).schedules.create({
          name: options.name,
          everyMs: options.every,
          enabled: options.disabled !== true,
          blastRadius: {
            maxActiveFaults: options.maxActive ?? 1,
            maxInstancePercent: options.maxPercent ?? 100,
          },
          what,
        });
        print(options, created, () => `${scheduleLine(created)}\n`);
      },
    );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    schedule
      .command(verb)
      .description(
        enabled ? 'switch a schedule on' : 'switch a schedule off (its faults end by their duration)',
      )
      .argument('<id>', 'the schedule id from `schedule list`')
      .option('--json', 'print the schedule as JSON')
      .action(async (id: string, options: JsonOption) => {
        const updated = await (await tools.api()).schedules.update({ id, enabled });
        print(options, updated, () => `${scheduleLine(updated)}\n`);
      });
  }

  schedule
    .command('run')
    .description('one run now, within the blast radius')
    .argument('<id>', 'the schedule id')
    .option('--json', 'print the schedule as JSON')
    .action(async (id: string, options: JsonOption) => {
      const ran = await (await tools.api()).schedules.run({ id });
      print(options, ran, () => `${scheduleLine(ran)}\n`);
    });

  schedule
    .command('remove')
    .description('delete a schedule (its faults end by their duration)')
    .argument('<id>', 'the schedule id')
    .option('--json', 'print { removed } as JSON')
    .action(async (id: string, options: JsonOption) => {
      const result = await (await tools.api()).schedules.remove({ id });
      print(options, result, () => (result.removed ? `removed ${id}\n` : `no schedule ${id}\n`));
      if (!result.removed) tools.setExit(1);
    });
};

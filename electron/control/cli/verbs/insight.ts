/** The insight verbs of `chaoscope`: the service registry's view (`registry`, `deregister`). */
import type { RegistryInstance, RegistryList } from '../../../api/insight-commands.ts';
import { parseService } from '../args.ts';
import { table, type Painter } from '../output.ts';
import type { VerbGroup } from './tools.ts';

const age = (ms: number | null): string =>
  ms === null ? '—' : ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;

const STATUS_STYLE = { alive: 'green', late: 'yellow', stale: 'red', unregistered: 'dim' } as const;

function registryText(list: RegistryList, paint: Painter): string {
  const rows = list.services.flatMap((s) =>
    s.instances.map((i: RegistryInstance) => [
      { text: s.service },
      { text: i.instanceId },
      { text: i.status, style: STATUS_STYLE[i.status] },
      { text: i.address },
      { text: age(i.ageMs) },
      { text: i.ttlSeconds !== null ? `${i.ttlSeconds} s` : '—' },
      { text: i.registeredAt ?? '—' },
    ]),
  );
  const head = `registry ${list.registry} (${list.runtime} runtime), at ${list.at}`;
  if (rows.length === 0)
    return `${head}
no instance is registered`;
  return `${head}
${table(['SERVICE', 'INSTANCE', 'STATUS', 'ADDRESS', 'HEARTBEAT AGE', 'TTL', 'REGISTERED AT'], rows, paint)}`;
}

export const insightVerbs: VerbGroup = (program, tools) => {
  program
    .command('registry')
    .description("the service registry's instances: address, heartbeat age, TTL, status")
    .option('--json', 'print the registry as JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await (await tools.api()).registry.list();
      tools.print(options, list, () => registryText(list, tools.paint()));
    });

  program
    .command('deregister')
    .description('remove an instance from the registry (a live one registers again at its next heartbeat)')
    .argument('<service>', 'service name')
    .argument('<instanceId>', 'instance id, e.g. timeline-1')
    .option('--json', 'print the result as JSON')
    .action(async (service: string, instanceId: string, options: { json?: boolean }) => {
      const result = await (
        await tools.api()
      ).registry.deregister({ service: parseService(service), instanceId });
      tools.print(options, result, () => `deregistered ${result.service}/${result.instanceId}`);
    });
};

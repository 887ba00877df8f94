/**
 * What the CLI prints for people. Machine output is JSON on stdout (`--json`); everything here is
 * for a terminal: aligned, coloured only when the stream is one and NO_COLOR is not set.
 */
import { styleText } from 'node:util';
import type {
  ClusterStatus,
  DownResult,
  InstanceStatus,
  ProgressEvent,
  ServiceStatus,
} from '../../../sample-cluster/runtime/types.ts';

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

type Style = Parameters<typeof styleText>[0];

export interface Painter {
  (style: Style, text: string): string;
}

export function painter(stream: OutputStream, env: NodeJS.ProcessEnv): Painter {
  const colour = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  return (style, text) => (colour ? styleText(style, text, { validateStream: false }) : text);
}

const STATE_STYLE: Record<InstanceStatus['state'], Style> = {
  starting: 'yellow',
  running: 'green',
  exited: 'red',
  killed: 'red',
  stopped: 'dim',
};
const HEALTH_STYLE: Record<InstanceStatus['health'], Style> = {
  healthy: 'green',
  unhealthy: 'red',
  unknown: 'dim',
};

/** Columns padded on the plain text first, so colour codes never break the alignment. */
export function table(
  header: readonly string[],
  rows: readonly (readonly { text: string; style?: Style }[])[],
  paint: Painter,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.text.length ?? 0)));
  const line = (cells: readonly { text: string; style?: Style }[]) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell.text : cell.text.padEnd(widths[i] ?? 0);
        return cell.style ? paint(cell.style, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => ({ text: h, style: 'bold' }))), ...rows.map(line)].join('\n');
}

export function servicesTable(services: readonly ServiceStatus[], paint: Painter): string {
  const rows = services.flatMap((service) =>
    service.instances.map((i) => [
      { text: service.name },
      { text: i.id },
      { text: i.state, style: STATE_STYLE[i.state] },
      { text: i.health, style: HEALTH_STYLE[i.health] },
      { text: i.address },
      { text: i.pid !== undefined ? String(i.pid) : '' },
      { text: exitNote(i) },
    ]),
  );
  return table(['SERVICE', 'INSTANCE', 'STATE', 'HEALTH', 'ADDRESS', 'PID', 'LAST EXIT'], rows, paint);
}

function exitNote(i: InstanceStatus): string {
  if (i.signal) return i.signal;
  if (i.exitCode !== undefined) return `code ${i.exitCode}`;
  return '';
}

export function statusText(status: ClusterStatus, paint: Painter): string {
  const all = status.services.flatMap((s) => s.instances);
  const healthy = all.filter((i) => i.state === 'running' && i.health === 'healthy').length;
  const summary =
    healthy === all.length
      ? paint('green', `all ${all.length} healthy`)
      : paint('yellow', `${healthy} of ${all.length} healthy`);
  return [
    `cluster ${status.clusterId} (${status.runtime} runtime, since ${status.createdAt}): ${summary}`,
    `gateway  ${status.gateway}`,
    ...(status.logs ? [`logs     ${status.logs}`] : []),
    '',
    servicesTable(status.services, paint),
    '',
  ].join('\n');
}

export function upText(
  status: ClusterStatus,
  paint: Painter,
  options: {
    foreground: boolean;
    adopted: boolean;
    seconds: number;
    /** The collector's OTLP/HTTP base URL, when a control plane runs. */
    collector?: string;
    /** The dashboard URL with its token, when web mode runs. */
    dashboard?: string | null;
  },
): string {
  const headline = options.adopted
    ? `A cluster was already running and healthy: ${status.clusterId}`
    : `The tweet cluster is up (${status.runtime} runtime, ${status.clusterId}) after ${options.seconds.toFixed(1)} s`;
  const hasLoadgen = status.services.some((s) => s.name === 'loadgen');
  return [
    paint('bold', headline),
    '',
    `  gateway    ${paint('cyan', status.gateway)}`,
    ...(options.collector ? [`  collector  ${options.collector} (OTLP/HTTP)`] : []),
    ...(options.dashboard ? [`  dashboard  ${paint('cyan', options.dashboard)}`] : []),
    ...(status.logs ? [`  logs       ${status.logs}`] : []),
    '',
    servicesTable(status.services, paint),
    '',
    'Where to look:',
    `  curl ${status.gateway}/.well-known/openid-configuration`,
    '  npx chaoscope status',
    '  npx chaoscope kill timeline      (then: npx chaoscope start timeline)',
    '  npx chaoscope fault timeline --latency 300ms --for 30s',
    '  npx chaoscope traces --errors',
    ...(hasLoadgen ? ['  loadgen is sending traffic through the gateway'] : []),
    '',
    options.foreground
      ? options.adopted
        ? 'Watching it; Ctrl+C stops watching and leaves it running.'
        : 'Press Ctrl+C to stop the cluster (data is kept).'
      : 'It keeps running in the background; stop it with: npx chaoscope down',
    '',
  ].join('\n');
}

export function progressText(event: ProgressEvent, paint: Painter): string {
  const at = paint('dim', `${(event.elapsedMs / 1000).toFixed(1).padStart(5)}s`);
  switch (event.type) {
    case 'service-starting':
      return `${at}  ${event.instanceId.padEnd(12)} starting on ${event.address}`;
    case 'service-healthy':
      return `${at}  ${event.instanceId.padEnd(12)} ${paint('green', 'healthy')}`;
    case 'service-failed':
      return `${at}  ${event.instanceId.padEnd(12)} ${paint('red', 'failed')}: ${event.reason}`;
    case 'image-build':
      return `${at}  ${`image ${event.image}`.padEnd(12)} ${event.total > 0 ? `step ${event.step}/${event.total} ` : ''}${event.message}`;
    case 'note':
      return `${at}  ${paint('yellow', event.message)}`;
  }
}

export function downText(result: DownResult): string {
  if (result.clusterId === null) {
    return `no cluster was running${result.volumesRemoved ? '; data removed' : ''}\n`;
  }
  const stopped = result.stopped.length > 0 ? `stopped ${result.stopped.join(', ')}` : 'nothing was running';
  return `cluster ${result.clusterId} is down (${stopped}); ${result.volumesRemoved ? 'data removed' : 'data kept (remove it with --volumes)'}\n`;
}

export function serviceText(verb: string, service: ServiceStatus, paint: Painter): string {
  const lines = service.instances.map(
    (i) =>
      // A stopped instance has no health to speak of: "killed unknown" reads like a typo.
      `${i.id} ${paint(STATE_STYLE[i.state], i.state)}${i.health === 'unknown' ? '' : ` ${paint(HEALTH_STYLE[i.health], i.health)}`} on ${i.address}${i.pid ? ` (pid ${i.pid})` : ''}`,
  );
  return `${verb} ${service.name}: ${lines.join('; ') || 'no instances'}\n`;
}

/** One line per instance whose state or health changed between two looks. */
export function changes(before: ClusterStatus, after: ClusterStatus): string[] {
  const previous = new Map(before.services.flatMap((s) => s.instances.map((i) => [i.id, i] as const)));
  const lines: string[] = [];
  for (const instance of after.services.flatMap((s) => s.instances)) {
    const old = previous.get(instance.id);
    if (!old) {
      lines.push(`${instance.id} appeared: ${instance.state}/${instance.health}`);
    } else if (old.state !== instance.state || old.health !== instance.health || old.pid !== instance.pid) {
      const how = instance.signal
        ? ` (${instance.signal})`
        : instance.exitCode !== undefined
          ? ` (code ${instance.exitCode})`
          : '';
      lines.push(`${instance.id} ${old.state}/${old.health} → ${instance.state}/${instance.health}${how}`);
    }
  }
  return lines;
}

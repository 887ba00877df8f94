/** What the chaos, breaker and trace verbs print for people (machine output is `--json`). */
import type { BreakerInfo, FaultInfo, Trace, TraceSummary } from '../../api/schemas.ts';
import { table, type Painter } from './output.ts';

const BREAKER_STYLE: Record<BreakerInfo['state'], Parameters<Painter>[0]> = {
  closed: 'green',
  'forced-closed': 'green',
  'half-open': 'yellow',
  open: 'red',
  'forced-open': 'red',
};

const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`);

export function breakersText(
  breakers: readonly BreakerInfo[],
  unreachable: readonly { instanceId: string; reason: string }[],
  paint: Painter,
): string {
  const lines: string[] = [];
  if (breakers.length === 0)
    lines.push('no breakers yet (a breaker appears once its caller has called its callee)');
  else {
    lines.push(
      table(
        ['BREAKER', 'INSTANCE', 'STATE', 'ERR%', 'RATE/S', 'REQ', 'SHORT', 'P50', 'P99'],
        breakers.map((b) => [
          { text: b.name },
          { text: b.instanceId },
          { text: b.state, style: BREAKER_STYLE[b.state] },
          { text: b.errorPercentage.toFixed(1) },
          { text: b.ratePerSecond.toFixed(1) },
          { text: String(b.counts.requests) },
          { text: String(b.counts.shortCircuited) },
          { text: ms(b.latencyMs.p50) },
          { text: ms(b.latencyMs.p99) },
        ]),
        paint,
      ),
    );
  }
  for (const u of unreachable) lines.push(paint('yellow', `${u.instanceId}: ${u.reason}`));
  return `${lines.join('\n')}\n`;
}

export function breakerActText(breakers: readonly BreakerInfo[], paint: Painter): string {
  return `${breakers.map((b) => `${b.name} on ${b.instanceId}: ${paint(BREAKER_STYLE[b.state], b.state)}`).join('\n')}\n`;
}

export function faultSummary(f: FaultInfo): string {
  const what =
    f.kind === 'latency'
      ? `latency ${f.latencyMs ?? 0} ms ± ${f.jitterMs ?? 0} ms`
      : f.kind === 'error'
        ? `error ${f.status ?? 503}`
        : f.kind === 'hang'
          ? `hang up to ${f.maxMs ?? 0} ms`
          : f.kind === 'bandwidth'
            ? `bandwidth ${f.bytesPerSecond ?? 0} B/s`
            : 'abort';
  const target = [f.route ? `route ${f.route}` : '', f.method ?? '', f.caller ? `from ${f.caller}` : '']
    .filter(Boolean)
    .join(' ');
  return `${what}${f.probability < 1 ? ` (p=${f.probability})` : ''}${target ? ` on ${target}` : ''}`;
}

export function faultsText(
  faults: readonly FaultInfo[],
  unreachable: readonly { instanceId: string; reason: string }[],
  paint: Painter,
): string {
  const lines: string[] = [];
  if (faults.length === 0) lines.push('no active faults');
  else {
    lines.push(
      table(
        ['INSTANCE', 'FAULT', 'ID', 'EXPIRES', 'APPLIED'],
        faults.map((f) => [
          { text: f.instanceId },
          { text: faultSummary(f), style: 'yellow' },
          { text: f.id },
          { text: f.expiresAt ?? 'until reset' },
          { text: String(f.applied) },
        ]),
        paint,
      ),
    );
  }
  for (const u of unreachable) lines.push(paint('yellow', `${u.instanceId}: ${u.reason}`));
  return `${lines.join('\n')}\n`;
}

export function tracesText(traces: readonly TraceSummary[], paint: Painter): string {
  if (traces.length === 0) return 'no traces match\n';
  return `${table(
    ['TRACE', 'START', 'DURATION', 'SPANS', 'ERRORS', 'ROOT'],
    traces.map((t) => [
      { text: t.traceId },
      { text: new Date(t.start).toISOString().slice(11, 23) },
      { text: ms(t.duration) },
      { text: String(t.spanCount) },
      { text: String(t.errorCount), ...(t.errorCount > 0 ? { style: 'red' as const } : {}) },
      { text: `${t.rootService}: ${t.rootName}` },
    ]),
    paint,
  )}\n`;
}

export function traceText(trace: Trace, paint: Painter): string {
  const lines = [
    `trace ${trace.traceId}: ${ms(trace.duration)}, ${trace.spans.length} spans, services ${trace.services.join(', ')}` +
      (trace.errorCount > 0 ? paint('red', `, ${trace.errorCount} errors`) : ''),
    '',
  ];
  for (const span of trace.spans) {
    const offset = span.start + span.skew - trace.start;
    const label = `${'  '.repeat(span.depth)}${span.service}: ${span.name}`;
    const status = span.status === 'error' ? paint('red', ' ERROR') : '';
    lines.push(`${label.padEnd(60)} +${ms(offset).padStart(10)} ${ms(span.duration).padStart(10)}${status}`);
  }
  return `${lines.join('\n')}\n`;
}

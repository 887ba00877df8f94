import { describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../../sample-cluster/cluster.ts';
import { UsageError, parsePort, parseService, parseSignal, resolveRuntime } from './args.ts';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('CLI argument validation', () => {
  it('accepts every service of the cluster and lists them all for a wrong one', () => {
    for (const name of SERVICE_NAMES) expect(parseService(name)).toBe(name);
    expect(usageMessage(() => parseService('timelime'))).toBe(
      `unknown service "timelime"; valid: ${SERVICE_NAMES.join(', ')}`,
    );
  });

  it('takes signal names with or without SIG, in any case, and refuses the rest', () => {
    expect(parseSignal('SIGKILL')).toBe('SIGKILL');
    expect(parseSignal('term')).toBe('SIGTERM');
    expect(parseSignal(' sigstop ')).toBe('SIGSTOP');
    expect(usageMessage(() => parseSignal('9'))).toMatch(/^unknown signal "9"; use a name such as SIGKILL/);
    expect(usageMessage(() => parseSignal('SIGNOPE'))).toMatch(/^unknown signal "SIGNOPE"/);
  });

  it('takes a port between 1 and 65535 and nothing else', () => {
    expect(parsePort('8080')).toBe(8080);
    expect(usageMessage(() => parsePort('0'))).toBe('a port is between 1 and 65535');
    expect(usageMessage(() => parsePort('70000'))).toBe('a port is between 1 and 65535');
    expect(usageMessage(() => parsePort('80a'))).toBe('"80a" is not a port number');
    expect(usageMessage(() => parsePort('-1'))).toBe('"-1" is not a port number');
  });

  it('accepts the runtimes this build has and says which are not there yet', async () => {
    const { AVAILABLE_RUNTIMES } = await import('../../../sample-cluster/runtime/select.ts');
    expect(resolveRuntime('process')).toBe('process');
    for (const kind of ['process', 'docker', 'swarm'] as const) {
      if (AVAILABLE_RUNTIMES.includes(kind)) expect(resolveRuntime(kind)).toBe(kind);
      else
        expect(usageMessage(() => resolveRuntime(kind))).toBe(
          `the ${kind} runtime is not available yet; use --runtime process (or auto)`,
        );
    }
  });
});

describe('chaos argument validation', () => {
  it('reads durations with a unit, and only with one', async () => {
    const { parseDuration } = await import('./args.ts');
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    for (const bad of ['200', '-1s', 's', '10 parsecs', ''])
      expect(usageMessage(() => parseDuration(bad))).toMatch(
        /is not a duration; use e\.g\. 200ms, 10s or 2m$/,
      );
  });

  it('reads rates as 0..1 or a percentage', async () => {
    const { parseRate } = await import('./args.ts');
    expect(parseRate('0.2')).toBe(0.2);
    expect(parseRate('20%')).toBeCloseTo(0.2);
    expect(parseRate('1')).toBe(1);
    for (const bad of ['1.5', '-0.1', 'often', '', '120%'])
      expect(usageMessage(() => parseRate(bad))).toMatch(/is not a rate/);
  });

  it('reads breakers as caller:callee of known services, and trace ids as 32 hex characters', async () => {
    const { parseBreakerName, parseTraceId } = await import('./args.ts');
    expect(parseBreakerName('gateway:timeline')).toBe('gateway:timeline');
    expect(usageMessage(() => parseBreakerName('gateway'))).toMatch(/caller:callee/);
    expect(usageMessage(() => parseBreakerName('gateway:nosuch'))).toMatch(/unknown service "nosuch"/);
    expect(parseTraceId('F1E2D3C4B5A697881122334455667788')).toBe('f1e2d3c4b5a697881122334455667788');
    expect(usageMessage(() => parseTraceId('abc'))).toMatch(/not a trace id/);
  });
});

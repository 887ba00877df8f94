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

  it('runs auto and process on the process runtime and says docker and swarm are not there yet', () => {
    expect(resolveRuntime('auto')).toBe('process');
    expect(resolveRuntime('process')).toBe('process');
    expect(usageMessage(() => resolveRuntime('docker'))).toBe(
      'the docker runtime is not available yet; use --runtime process (or auto)',
    );
    expect(usageMessage(() => resolveRuntime('swarm'))).toMatch(/^the swarm runtime is not available yet/);
  });
});

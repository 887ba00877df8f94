/**
 * The engine's fault form: one state for every fault type (container, request, auth, breaker),
 * turned into the contract's fault model. The contract's zod schema has the last word: a wrong
 * value is shown next to the form, never sent.
 */
import { chaosFaultSchema, type ChaosFaultInput, type ServiceName } from '../../../../electron/api/index.ts';

export type EngineType = 'container' | 'request' | 'auth' | 'breaker';
export type Pick = 'one' | 'random' | 'percent' | 'all';

export const ACTIONS: Record<EngineType, readonly string[]> = {
  container: ['kill', 'stop', 'pause', 'restart', 'partition', 'limits', 'scale'],
  request: ['latency', 'error', 'abort', 'hang', 'bandwidth'],
  auth: [
    'revoke-user',
    'rotate-keys',
    'rotate-secret',
    'revoke-certificate',
    'expire-certificate',
    'auth-mode',
  ],
  breaker: ['open', 'close', 'reset'],
};

export const TYPE_HELP: Record<EngineType, string> = {
  container: 'Processes or containers: kill, stop, pause, restart, partition, limits, scale.',
  request: "The service's own request handling: latency, errors, aborts, hangs, bandwidth.",
  auth: 'Trust: revoke a user, rotate keys or the secret, revoke or expire a certificate, auth mode.',
  breaker: 'A circuit breaker in its caller: force open, force closed, reset.',
};

export interface EngineForm {
  type: EngineType;
  action: string;
  service: ServiceName;
  pick: Pick;
  instance: string;
  percent: number;
  signal: string;
  replicas: number;
  cpus: number | null;
  memoryMb: number | null;
  latencyMs: number;
  status: number;
  kibPerSecond: number;
  probabilityPct: number;
  user: string;
  mode: 'mtls' | 'jwt-secret' | 'oauth';
  breaker: string;
  durationS: number | null;
  dryRun: boolean;
}

export const DEFAULT_ENGINE_FORM: EngineForm = {
  type: 'request',
  action: 'latency',
  service: 'timeline',
  pick: 'all',
  instance: '',
  percent: 50,
  signal: 'SIGKILL',
  replicas: 2,
  cpus: 0.5,
  memoryMb: null,
  latencyMs: 300,
  status: 503,
  kibPerSecond: 16,
  probabilityPct: 100,
  user: 'alice',
  mode: 'jwt-secret',
  breaker: 'gateway:timeline',
  durationS: 30,
  dryRun: true,
};

function changeOf(form: EngineForm): unknown {
  switch (form.action) {
    case 'kill':
      return { action: 'kill', signal: form.signal };
    case 'scale':
      return { action: 'scale', replicas: form.replicas };
    case 'limits':
      return {
        action: 'limits',
        ...(form.cpus ? { cpus: form.cpus } : {}),
        ...(form.memoryMb ? { memoryMb: form.memoryMb } : {}),
      };
    case 'revoke-user':
      return { action: 'revoke-user', user: form.user };
    case 'auth-mode':
      return { action: 'auth-mode', mode: form.mode };
    default:
      return { action: form.action };
  }
}

export function toFault(
  form: EngineForm,
): { ok: true; fault: ChaosFaultInput } | { ok: false; problems: string[] } {
  const target = {
    service: form.service,
    pick: form.pick,
    ...(form.pick === 'one' && form.instance ? { instance: form.instance } : {}),
    ...(form.pick === 'percent' ? { percent: form.percent } : {}),
  };
  const common = {
    ...(form.durationS ? { durationMs: Math.round(form.durationS * 1000) } : {}),
    dryRun: form.dryRun,
  };
  let raw: unknown;
  switch (form.type) {
    case 'container':
      raw = { type: 'container', target, change: changeOf(form), ...common };
      break;
    case 'request': {
      const probability = form.probabilityPct / 100;
      const fault =
        form.action === 'latency'
          ? { kind: 'latency', latencyMs: form.latencyMs, probability }
          : form.action === 'error'
            ? { kind: 'error', status: form.status, probability }
            : form.action === 'bandwidth'
              ? { kind: 'bandwidth', bytesPerSecond: Math.round(form.kibPerSecond * 1024), probability }
              : { kind: form.action, probability };
      raw = { type: 'request', target, fault, ...common };
      break;
    }
    case 'auth': {
      const certificate = form.action === 'revoke-certificate' || form.action === 'expire-certificate';
      raw = { type: 'auth', ...(certificate ? { target } : {}), change: changeOf(form), ...common };
      break;
    }
    case 'breaker':
      raw = { type: 'breaker', breaker: form.breaker, change: changeOf(form), ...common };
      break;
  }
  const parsed = chaosFaultSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`),
    };
  }
  return { ok: true, fault: raw as ChaosFaultInput };
}

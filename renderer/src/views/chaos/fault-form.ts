/**
 * The fault form's state and its translation into the contract's fault spec. The contract's zod
 * schema has the last word (a wrong value is shown next to the form, never sent).
 */
import { faultSpecSchema, type FaultSpecInput } from '../../../../electron/api/index.ts';

export type FaultKind = 'latency' | 'error' | 'abort' | 'hang' | 'bandwidth';

export interface FaultForm {
  kind: FaultKind;
  latencyMs: number;
  jitterMs: number;
  status: number;
  maxMs: number;
  kibPerSecond: number;
  probabilityPct: number;
  route: string;
  method: '' | 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  caller: string;
  durationS: number | null;
}

export const DEFAULT_FAULT: FaultForm = {
  kind: 'latency',
  latencyMs: 300,
  jitterMs: 50,
  status: 503,
  maxMs: 30_000,
  kibPerSecond: 16,
  probabilityPct: 100,
  route: '',
  method: '',
  caller: '',
  durationS: 60,
};

export const KIND_HELP: Record<FaultKind, string> = {
  latency: 'Delay each matching request (plus random jitter).',
  error: 'Answer with an HTTP error status instead of handling the request.',
  abort: 'Reset the connection without an answer.',
  hang: 'Hold the request without answering (up to a limit): the caller times out.',
  bandwidth: 'Throttle the response body to a byte rate.',
};

export function toSpec(
  form: FaultForm,
): { ok: true; spec: FaultSpecInput } | { ok: false; problems: string[] } {
  const common = {
    probability: form.probabilityPct / 100,
    ...(form.route.trim() ? { route: form.route.trim() } : {}),
    ...(form.method ? { method: form.method } : {}),
    ...(form.caller.trim() ? { caller: form.caller.trim() } : {}),
    ...(form.durationS ? { durationMs: Math.round(form.durationS * 1000) } : {}),
  };
  const raw: Record<FaultKind, unknown> = {
    latency: { kind: 'latency', latencyMs: form.latencyMs, jitterMs: form.jitterMs, ...common },
    error: { kind: 'error', status: form.status, ...common },
    abort: { kind: 'abort', ...common },
    hang: { kind: 'hang', maxMs: form.maxMs, ...common },
    bandwidth: { kind: 'bandwidth', bytesPerSecond: Math.round(form.kibPerSecond * 1024), ...common },
  };
  const parsed = faultSpecSchema.safeParse(raw[form.kind]);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`),
    };
  }
  return { ok: true, spec: raw[form.kind] as FaultSpecInput };
}

/**
 * The catalog form's fault as the engine's fault model (a request fault on a target), so the form
 * that injects a fault can also schedule it, and what a schedule repeats, in the engine's words.
 */
import {
  chaosFaultSchema,
  describeFault,
  type ChaosFaultInput,
  type FaultSpecInput,
  type ScheduleInfo,
  type ServiceName,
} from '../../../../electron/api/index.ts';

/** A fault the form handed over, with a line that names it. */
export interface FaultDraft {
  fault: ChaosFaultInput;
  description: string;
}

/** The catalog's target: "all", "random", or an instance id. */
export function requestFault(service: ServiceName, target: string, spec: FaultSpecInput): FaultDraft {
  const pick =
    target === 'all'
      ? { pick: 'all' as const }
      : target === 'random'
        ? { pick: 'random' as const }
        : { pick: 'one' as const, instance: target };
  const { durationMs, ...fault } = spec;
  const chaosFault: ChaosFaultInput = {
    type: 'request',
    target: { service, ...pick },
    fault,
    ...(durationMs ? { durationMs } : {}),
  };
  // A fault the engine's schema refuses is still handed over: creating it shows the reason.
  const parsed = chaosFaultSchema.safeParse(chaosFault);
  const description = parsed.success ? describeFault(parsed.data) : `${spec.kind} in ${service}`;
  return { fault: chaosFault, description };
}

/** "latency 300±50 ms in users for 1 min", "kill timeline (SIGKILL)", "experiment kill-timeline". */
export function describeWhat(what: ScheduleInfo['what']): string {
  return what.kind === 'experiment' ? `experiment ${what.experiment}` : describeFault(what.fault);
}

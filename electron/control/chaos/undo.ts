/**
 * How to undo one action, as data: the journal keeps these on disk so that a control plane that
 * crashed mid-fault can still put everything back when it starts again.
 */
import { z } from 'zod';
import { breakerSettingsSchema, serviceNameSchema } from '../../api/schemas.ts';
import type { ChaosPorts } from './ports.ts';

const instance = { service: serviceNameSchema, instanceId: z.string() };

export const undoStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('start'), ...instance }),
  z.object({ kind: z.literal('unpause'), ...instance }),
  z.object({ kind: z.literal('reconnect'), ...instance }),
  z.object({
    kind: z.literal('limits'),
    ...instance,
    cpus: z.number().nullable(),
    memoryMb: z.number().nullable(),
  }),
  z.object({ kind: z.literal('scale'), service: serviceNameSchema, replicas: z.number().int() }),
  z.object({ kind: z.literal('remove-request-fault'), ...instance, faultId: z.string() }),
  z.object({ kind: z.literal('breaker-reset'), holder: serviceNameSchema, breaker: z.string() }),
  z.object({
    kind: z.literal('breaker-settings'),
    holder: serviceNameSchema,
    breaker: z.string(),
    settings: breakerSettingsSchema,
  }),
  z.object({ kind: z.literal('renew-certificate'), ...instance }),
  z.object({ kind: z.literal('auth-mode'), mode: z.enum(['mtls', 'jwt-secret', 'oauth']) }),
]);
export type UndoStep = z.infer<typeof undoStepSchema>;

export function describeUndo(step: UndoStep): string {
  switch (step.kind) {
    case 'scale':
      return `scale ${step.service} back to ${step.replicas}`;
    case 'breaker-reset':
      return `reset breaker ${step.breaker}`;
    case 'breaker-settings':
      return `restore breaker ${step.breaker} settings`;
    case 'auth-mode':
      return `auth mode back to ${step.mode}`;
    case 'limits':
      return `restore limits of ${step.instanceId}`;
    case 'remove-request-fault':
      return `remove fault ${step.faultId} from ${step.instanceId}`;
    default:
      return `${step.kind} ${step.instanceId}`;
  }
}

/** Whether an error means the thing to undo is already gone (so the undo has nothing to do). */
function alreadyGone(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  return status === 404;
}

export async function runUndo(ports: ChaosPorts, step: UndoStep): Promise<void> {
  const ref = 'instanceId' in step ? { service: step.service, instanceId: step.instanceId } : null;
  try {
    switch (step.kind) {
      case 'start':
        return await ports.start(ref!);
      case 'unpause':
        return await ports.unpause(ref!);
      case 'reconnect':
        return await ports.reconnect(ref!);
      case 'limits':
        await ports.setLimits(ref!, { cpus: step.cpus, memoryMb: step.memoryMb });
        return;
      case 'scale':
        await ports.scale(step.service, step.replicas);
        return;
      case 'remove-request-fault':
        return await ports.removeRequestFault(ref!, step.faultId);
      case 'breaker-reset':
        return await ports.breaker(step.holder, step.breaker, 'reset');
      case 'breaker-settings':
        await ports.configureBreaker(step.holder, step.breaker, step.settings);
        return;
      case 'renew-certificate':
        return await ports.renewCertificate(ref!);
      case 'auth-mode':
        await ports.setAuthMode(step.mode);
        return;
    }
  } catch (error) {
    if (!alreadyGone(error)) throw error;
  }
}

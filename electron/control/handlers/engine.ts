/** The handlers of the chaos commands (electron/api/chaos-commands.ts): the chaos engine for the API. */
import type { CHAOS_COMMANDS } from '../../api/chaos-commands.ts';
import { ApiError } from '../../api/errors.ts';
import { ChaosRefusedError, type FaultRecord } from '../chaos/engine.ts';
import { ChaosUnsupportedError } from '../chaos/ports.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

/** The engine's record in the API's shape (plain arrays). */
export function toRecordInfo(record: FaultRecord) {
  return {
    ...record,
    plan: [...record.plan],
    services: [...record.services],
    instances: [...record.instances],
    undoErrors: [...record.undoErrors],
  };
}

/** The engine's refusals are the caller's to fix; everything else is the control plane's. */
export function chaosError(error: unknown): unknown {
  if (error instanceof ChaosRefusedError) return new ApiError('BAD_REQUEST', error.message);
  if (error instanceof ChaosUnsupportedError) return new ApiError('UNSUPPORTED', error.message);
  return error;
}

export function engineHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof CHAOS_COMMANDS> {
  const { chaos } = ctx;
  return {
    async 'chaos.apply'(fault) {
      try {
        return toRecordInfo(await chaos.apply(fault));
      } catch (error) {
        throw chaosError(error);
      }
    },
    async 'chaos.list'({ limit }) {
      return { active: chaos.active().map(toRecordInfo), recent: chaos.recent(limit).map(toRecordInfo) };
    },
    async 'chaos.rollback'({ id }) {
      if (!chaos.get(id)) throw new ApiError('NOT_FOUND', `no fault ${id}`);
      return toRecordInfo(await chaos.rollback(id, 'rolled back on request'));
    },
  };
}

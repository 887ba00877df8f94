/** The handlers of the chaos commands (electron/api/chaos-commands.ts): the chaos engine for the API. */
import type { CHAOS_COMMANDS } from '../../api/chaos-commands.ts';
import type { ChaosFaultInput } from '../../api/chaos.ts';
import { ApiError } from '../../api/errors.ts';
import { listMarkers } from '../../../telemetry/query/index.ts';
import { InvalidQueryError } from '../../../telemetry/query/params.ts';
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

/**
 * Apply a fault for a command that promises it happened: a refusal is BAD_REQUEST, a step the
 * runtime cannot do is UNSUPPORTED, any other failed step FAILED (the engine undid the rest).
 */
export async function applied(ctx: ControlContext, fault: ChaosFaultInput): Promise<FaultRecord> {
  let record: FaultRecord;
  try {
    record = await ctx.chaos.apply(fault);
  } catch (error) {
    throw chaosError(error);
  }
  if (record.state === 'failed') {
    const reason = record.error ?? 'failed';
    throw new ApiError(
      / needs a container runtime| needs auth's admin API/.test(reason) ? 'UNSUPPORTED' : 'FAILED',
      `${record.description}: ${reason}`,
    );
  }
  return record;
}

const DEFAULT_MARKER_WINDOW_MS = 15 * 60_000;

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
    async 'chaos.reset'() {
      // Paused by the older pause path too: "reset all" leaves nothing frozen.
      const rolledBack = await chaos.resetAll('reset all');
      await ctx.pauses.resumeAll();
      return { rolledBack: rolledBack.map(toRecordInfo) };
    },
    async 'service.scale'({ service, replicas, durationMs }) {
      const { runtime } = await ctx.cluster.require();
      if (runtime.kind === 'process') {
        throw new ApiError(
          'UNSUPPORTED',
          `scaling needs a container runtime (docker or swarm): the process runtime runs one process per instance it was started with; start the cluster with \`chaoscope up --runtime docker\``,
        );
      }
      const record = await applied(ctx, {
        type: 'container',
        target: { service, pick: 'all' },
        change: { action: 'scale', replicas },
        ...(durationMs !== undefined ? { durationMs } : {}),
      });
      const after = (await runtime.status()).services.find((s) => s.name === service);
      const found = await ctx.cluster.find().catch(() => null);
      ctx.observeCluster(found ? ctx.cluster.toApi(found.status) : null);
      return {
        service: ctx.cluster.serviceToApi(after ?? { name: service, instances: [] }),
        fault: toRecordInfo(record),
      };
    },
    async 'telemetry.markers'({ from, to, service, limit }) {
      const end = to ?? Date.now();
      const start = from ?? end - DEFAULT_MARKER_WINDOW_MS;
      try {
        const markers = await ctx.telemetry.query((reader) =>
          listMarkers(reader, { from: start, to: end, limit, ...(service ? { service } : {}) }),
        );
        return { markers: markers.map((m) => ({ ...m, services: [...m.services] })) };
      } catch (error) {
        if (error instanceof InvalidQueryError) throw new ApiError('BAD_REQUEST', error.message);
        throw error;
      }
    },
    async 'schedules.list'() {
      return { schedules: ctx.schedules.list() };
    },
    async 'schedules.create'(input) {
      try {
        return ctx.schedules.add(input);
      } catch (error) {
        throw new ApiError('BAD_REQUEST', error instanceof Error ? error.message : String(error));
      }
    },
    async 'schedules.update'({ id, ...patch }) {
      if (!ctx.schedules.get(id)) throw new ApiError('NOT_FOUND', `no schedule ${id}`);
      try {
        return ctx.schedules.update(id, patch);
      } catch (error) {
        throw new ApiError('BAD_REQUEST', error instanceof Error ? error.message : String(error));
      }
    },
    async 'schedules.remove'({ id }) {
      return { removed: ctx.schedules.remove(id) };
    },
    async 'schedules.run'({ id }) {
      if (!ctx.schedules.get(id)) throw new ApiError('NOT_FOUND', `no schedule ${id}`);
      return ctx.schedules.runOnce(id);
    },
  };
}

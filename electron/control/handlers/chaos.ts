/** breakers.*, faults.* and load.*: the services' admin routes, driven for the API. */
import { ApiError } from '../../api/errors.ts';
import {
  breakerInfoSchema,
  faultInfoSchema,
  loadStateSchema,
  serviceNameSchema,
  type BreakerInfo,
  type FaultInfo,
  type ServiceName,
} from '../../api/schemas.ts';
import {
  isAdminError,
  type ActiveFault,
  type AdminClient,
  type BreakerSnapshot,
} from '../../../sample-cluster/runtime/admin-client.ts';
import type { FaultRecord } from '../chaos/engine.ts';
import type { ControlContext } from '../context.ts';
import { chaosError } from './engine.ts';
import type { RunningInstance } from '../cluster-access.ts';
import type { Handlers } from '../dispatcher.ts';

type ChaosHandlers = Pick<
  Handlers,
  | 'breakers.list'
  | 'breakers.act'
  | 'breakers.configure'
  | 'faults.list'
  | 'faults.inject'
  | 'faults.remove'
  | 'faults.reset'
  | 'load.get'
  | 'load.set'
>;

export function toBreakerInfo(snapshot: BreakerSnapshot, where: RunningInstance): BreakerInfo {
  return breakerInfoSchema.parse({ ...snapshot, service: where.service, instanceId: where.instance.id });
}

export function toFaultInfo(fault: ActiveFault, where: RunningInstance): FaultInfo {
  return faultInfoSchema.parse({ ...fault, service: where.service, instanceId: where.instance.id });
}

interface Unreachable {
  instanceId: string;
  reason: string;
}

/** Run one admin call on many instances; those that do not answer are reported, not fatal. */
export async function onEach<T>(
  instances: readonly RunningInstance[],
  call: (target: RunningInstance) => Promise<T>,
): Promise<{ results: { target: RunningInstance; value: T }[]; unreachable: Unreachable[] }> {
  const settled = await Promise.allSettled(
    instances.map(async (target) => ({ target, value: await call(target) })),
  );
  const results: { target: RunningInstance; value: T }[] = [];
  const unreachable: Unreachable[] = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') results.push(outcome.value);
    else {
      const error = outcome.reason as unknown;
      const reason = isAdminError(error, 'not-found')
        ? 'has no admin routes'
        : error instanceof Error
          ? error.message
          : String(error);
      unreachable.push({ instanceId: instances[i]!.instance.id, reason });
    }
  });
  return { results, unreachable };
}

export function chaosHandlers(ctx: ControlContext): ChaosHandlers {
  const { cluster, faults, pauses, chaos } = ctx;

  /** Running instances of a service that can answer (a paused one cannot). */
  const reachable = async (service?: ServiceName) => {
    const { client, status, runtime } = await cluster.admin();
    const all = await cluster.running(status, service);
    return { client, runtime, targets: all.filter((r) => !pauses.isPaused(r.instance.id)), all };
  };

  const breakerTargets = async (breaker: string) => {
    const caller = serviceNameSchema.safeParse(breaker.split(':')[0]);
    if (!caller.success) {
      throw new ApiError(
        'BAD_REQUEST',
        `"${breaker}" names no service as its caller; breakers are caller:callee`,
      );
    }
    const { client, targets } = await reachable(caller.data);
    if (targets.length === 0) {
      throw new ApiError(
        'CONFLICT',
        `${caller.data} is not running (or paused); its breakers cannot be reached`,
      );
    }
    return { client, targets };
  };

  const actOnBreakers = async (
    breaker: string,
    call: (client: AdminClient, address: string) => Promise<BreakerSnapshot>,
  ) => {
    const { client, targets } = await breakerTargets(breaker);
    const done = await Promise.allSettled(targets.map((t) => call(client, t.instance.address)));
    const missing = done.find((d) => d.status === 'rejected' && isAdminError(d.reason, 'not-found'));
    if (missing) {
      const known = await client.breakers(targets[0]!.instance.address).catch(() => []);
      throw new ApiError(
        'NOT_FOUND',
        `no breaker "${breaker}"${known.length ? `; known: ${known.map((b) => b.name).join(', ')}` : ' (none has been used yet)'}`,
      );
    }
    const failed = done.find((d) => d.status === 'rejected');
    if (failed && failed.status === 'rejected') throw failed.reason;
    return {
      breakers: done.flatMap((d, i) =>
        d.status === 'fulfilled' ? [toBreakerInfo(d.value, targets[i]!)] : [],
      ),
    };
  };

  const loadgen = async () => {
    const { client, targets } = await reachable('loadgen');
    const target = targets[0];
    if (!target) {
      throw new ApiError(
        'CONFLICT',
        'loadgen is not running; start it with `chaoscope start loadgen` (or `chaoscope up --loadgen`)',
      );
    }
    return { client, address: target.instance.address };
  };

  return {
    'breakers.list': async ({ service }) => {
      const { client, targets, all } = await reachable(service);
      const { results, unreachable } = await onEach(targets, (t) => client.breakers(t.instance.address));
      for (const r of all)
        if (pauses.isPaused(r.instance.id)) unreachable.push({ instanceId: r.instance.id, reason: 'paused' });
      return {
        breakers: results.flatMap(({ target, value }) => value.map((b) => toBreakerInfo(b, target))),
        unreachable,
      };
    },

    'breakers.act': async ({ breaker, action }) =>
      actOnBreakers(breaker, (client, address) => client.actOnBreaker(address, breaker, action)),

    'breakers.configure': async ({ breaker, settings }) =>
      actOnBreakers(breaker, (client, address) => client.configureBreaker(address, breaker, settings)),

    'faults.list': async ({ service }) => {
      const { client, targets, all } = await reachable(service);
      const { results, unreachable } = await onEach(targets, (t) => client.faults(t.instance.address));
      for (const r of all)
        if (pauses.isPaused(r.instance.id)) unreachable.push({ instanceId: r.instance.id, reason: 'paused' });
      const list = results.flatMap(({ target, value }) => {
        const infos = value.map((f) => toFaultInfo(f, target));
        faults.sync(target.instance.id, infos);
        return infos;
      });
      return { faults: list, unreachable };
    },

    'faults.inject': async ({ service, instanceId, faults: specs, dryRun }) => {
      const { client, targets } = await reachable(service);
      const chosen = targets.filter((t) => instanceId === undefined || t.instance.id === instanceId);
      if (chosen.length === 0) {
        throw new ApiError(
          'CONFLICT',
          `${instanceId ?? service} is not running (or paused); no fault injected`,
        );
      }
      const names = chosen.map((t) => t.instance.id);
      if (dryRun) return { injected: [], dryRun: true, targets: names };
      // One engine fault per instance and spec: each is journalled, marked, listed in history,
      // and `faults remove <id>` undoes exactly the one it names.
      const records: FaultRecord[] = [];
      try {
        for (const target of chosen) {
          for (const spec of specs) {
            const { durationMs, ...fault } = spec;
            const record = await chaos.apply({
              type: 'request',
              target: { service, pick: 'one', instance: target.instance.id },
              fault,
              ...(durationMs !== undefined ? { durationMs } : {}),
              ...(spec.label !== undefined ? { label: spec.label } : {}),
            });
            if (record.state === 'failed')
              throw new ApiError('FAILED', `${record.description}: ${record.error ?? 'failed'}`);
            records.push(record);
          }
        }
      } catch (error) {
        // All or nothing: what went in before the failure comes out again.
        await Promise.allSettled(records.map((r) => chaos.rollback(r.id, 'a later injection failed')));
        throw chaosError(error);
      }
      const injected: FaultInfo[] = [];
      for (const target of chosen) {
        const ids = new Set(
          records.flatMap((r) =>
            chaos
              .requestFaults(r.id)
              .filter((f) => f.instanceId === target.instance.id)
              .map((f) => f.faultId),
          ),
        );
        const listed = await client.faults(target.instance.address);
        for (const fault of listed) if (ids.has(fault.id)) injected.push(toFaultInfo(fault, target));
      }
      for (const fault of injected) faults.injected(fault);
      return { injected, dryRun: false, targets: names };
    },

    'faults.remove': async ({ service, id }) => {
      const owner = chaos.ownerOfRequestFault(id);
      if (owner) {
        const ended = await chaos.rollback(owner.id, 'removed on request');
        faults.gone(id, 'removed');
        return { removed: ended.state !== 'failed' };
      }
      // A fault put in by someone else (a service's own admin route): remove it there.
      const { client, targets } = await reachable(service);
      let removed = false;
      for (const target of targets) {
        if (await client.removeFault(target.instance.address, id)) removed = true;
      }
      if (removed) faults.gone(id, 'removed');
      return { removed };
    },

    'faults.reset': async ({ service }) => {
      // Every fault of the engine first ("reset all": containers, auth and breakers too), or,
      // for one service, those that touch it; then whatever else the services still hold.
      const touched = chaos.active().filter((r) => service === undefined || r.services.includes(service));
      const perInstance = new Map<string, number>();
      for (const record of touched) {
        const kit = chaos.requestFaults(record.id);
        const ended = await chaos.rollback(record.id, 'reset');
        if (ended.state === 'failed') continue;
        for (const f of kit) {
          perInstance.set(f.instanceId, (perInstance.get(f.instanceId) ?? 0) + 1);
          faults.gone(f.faultId, 'reset');
        }
      }
      const failed = touched.filter((r) => r.state === 'failed');
      const { client, targets, all } = await reachable(service);
      const { results, unreachable } = await onEach(targets, (t) => client.clearFaults(t.instance.address));
      for (const r of all)
        if (pauses.isPaused(r.instance.id)) unreachable.push({ instanceId: r.instance.id, reason: 'paused' });
      for (const record of failed)
        unreachable.push({
          instanceId: record.instances.join(', ') || record.services.join(', ') || record.id,
          reason: `could not roll back "${record.description}": ${record.undoErrors.join('; ') || record.error || 'failed'}`,
        });
      for (const { target, value } of results) {
        faults.clearInstance(target.instance.id, 'reset');
        perInstance.set(target.instance.id, (perInstance.get(target.instance.id) ?? 0) + value);
      }
      const instances = [...perInstance].map(([instanceId, removed]) => ({ instanceId, removed }));
      return {
        // Faults of the engine that were not kit faults (a pause, a kill, a breaker) count once each.
        removed:
          instances.reduce((n, i) => n + i.removed, 0) +
          touched.filter((r) => r.state !== 'failed' && r.fault.type !== 'request').length,
        instances,
        unreachable,
      };
    },

    'load.get': async () => {
      const { client, address } = await loadgen();
      return loadStateSchema.parse(await client.load(address));
    },

    'load.set': async (patch) => {
      const { client, address } = await loadgen();
      return loadStateSchema.parse(await client.setLoad(address, patch));
    },
  };
}

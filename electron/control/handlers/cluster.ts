/** cluster.* and service.*: the runtime, driven for the API. */
import { join } from 'node:path';
import { ApiError } from '../../api/errors.ts';
import { tailLines } from '../../../sample-cluster/runtime/process/logs.ts';
import { detectRuntimeChoice, resolveRuntimeChoice } from '../../../sample-cluster/runtime/select.ts';
import type { ServiceStatus } from '../../../sample-cluster/runtime/types.ts';
import type { ControlContext } from '../context.ts';
import { applied } from './engine.ts';
import type { Handlers } from '../dispatcher.ts';

type ClusterHandlers = Pick<
  Handlers,
  | 'cluster.up'
  | 'cluster.down'
  | 'cluster.status'
  | 'service.kill'
  | 'service.restart'
  | 'service.start'
  | 'service.pause'
  | 'service.resume'
  | 'service.partition'
  | 'service.logs'
>;

const PARTITION_FALLBACK = 'partition (process runtime: incoming connections reset by the kit)';

export function clusterHandlers(ctx: ControlContext): ClusterHandlers {
  const { cluster, bus, pauses, faults } = ctx;

  /** After a change the watcher would see late, tell subscribers at once. */
  const announce = async () => {
    const found = await cluster.find().catch(() => null);
    ctx.observeCluster(found ? cluster.toApi(found.status) : null);
  };
  const serviceResult = async (status: ServiceStatus) => {
    await announce();
    return cluster.serviceToApi(status);
  };

  return {
    'cluster.up': async (input, { signal }) => {
      const settings = ctx.settings.get();
      const choice = input.runtime ?? settings.runtime;
      const existing = await cluster.find();
      // `auto` takes the cluster that is there, whatever runs it; else docker when an engine
      // answers, else process (select.ts decides).
      const kind = existing && choice === 'auto' ? existing.runtime.kind : await detectRuntimeChoice(choice);
      if (existing && existing.runtime.kind !== kind) {
        throw new ApiError(
          'CONFLICT',
          `a ${existing.runtime.kind} cluster (${existing.status.clusterId}) is running; take it down first`,
        );
      }
      const runtime = cluster.runtime(kind);
      if (kind !== 'process') {
        const problem = await ctx.ensureContainerTelemetry();
        if (problem)
          bus.publish('control.notice', { level: 'warning', message: problem, at: new Date().toISOString() });
      }
      const status = await runtime.up({
        withLoadgen: input.loadgen ?? settings.loadgen,
        ...(input.services ? { services: input.services } : {}),
        gatewayPort: input.gatewayPort ?? settings.gatewayPort,
        onProgress: (event) => bus.publish('cluster.progress', event),
        ...(signal ? { signal } : {}),
      });
      cluster.active = kind;
      ctx.observeCluster(cluster.toApi(status));
      // Progress sent before the answer, so a client that prints both prints them in order.
      bus.flush();
      return { ...cluster.toApi(status), adopted: existing?.status.clusterId === status.clusterId };
    },

    'cluster.down': async ({ volumes }) => {
      const found = await cluster.find();
      await pauses.resumeAll();
      const runtime = found?.runtime ?? cluster.runtime(resolveRuntimeChoice('auto'));
      for (const service of found?.status.services ?? [])
        for (const instance of service.instances) faults.clearInstance(instance.id, 'removed');
      const result = await runtime.down({ volumes });
      ctx.observeCluster(null);
      return { ...result, stopped: [...result.stopped] };
    },

    'cluster.status': async () => cluster.toApi((await cluster.require()).status),

    'service.kill': async ({ service, signal, instanceId }) => {
      const { runtime } = await cluster.require();
      const result = await runtime.kill(service, {
        signal: signal as NodeJS.Signals,
        ...(instanceId ? { instanceId } : {}),
      });
      return serviceResult(result);
    },

    'service.restart': async ({ service, instanceId }) => {
      const { runtime } = await cluster.require();
      return serviceResult(await runtime.restart(service, instanceId ? { instanceId } : {}));
    },

    'service.start': async ({ service }) => {
      const { runtime } = await cluster.require();
      return serviceResult(await runtime.start(service));
    },

    'service.pause': async ({ service, durationMs, instanceId }) => {
      const { runtime, status } = await cluster.require();
      const running = (await cluster.running(status, service)).filter(
        (r) => instanceId === undefined || r.instance.id === instanceId,
      );
      if (running.length === 0) {
        throw new ApiError('CONFLICT', `${instanceId ?? service} is not running; nothing to pause`);
      }
      // Through the engine: journalled (thawed even after a crash), marked, in history. SIGSTOP and
      // SIGCONT on the process runtime, the container API's pause on Docker.
      const every =
        (status.services.find((s) => s.name === service)?.instances.length ?? 0) === running.length;
      const targets =
        instanceId === undefined && every
          ? [{ service, pick: 'all' as const }]
          : running.map((r) => ({ service, pick: 'one' as const, instance: r.instance.id }));
      let resumesAt = new Date(Date.now() + durationMs).toISOString();
      for (const target of targets) {
        const record = await applied(ctx, {
          type: 'container',
          target,
          change: { action: 'pause' },
          durationMs,
        });
        resumesAt = record.expiresAt ?? resumesAt;
      }
      // One look (a frozen instance costs a probe timeout); watchers announce the change.
      const after = (await runtime.status()).services.find((s) => s.name === service);
      return { service: cluster.serviceToApi(after ?? { name: service, instances: [] }), resumesAt };
    },

    'service.resume': async ({ service }) => {
      const { runtime } = await cluster.require();
      const paused = ctx.chaos
        .active()
        .filter(
          (r) =>
            r.fault.type === 'container' && r.fault.change.action === 'pause' && r.services.includes(service),
        );
      for (const record of paused) await ctx.chaos.rollback(record.id, 'resumed on request');
      await pauses.resume(runtime, service);
      const after = (await runtime.status()).services.find((s) => s.name === service);
      return serviceResult(after ?? { name: service, instances: [] });
    },

    'service.partition': async ({ service, durationMs }) => {
      const { runtime, status } = await cluster.require();
      if ((await cluster.running(status, service)).length === 0)
        throw new ApiError('CONFLICT', `${service} is not running; nothing to partition`);
      let record;
      if (runtime.kind === 'process') {
        // No network to cut between processes on one host: the kit resets every connection the
        // service accepts for the duration, and the app says so.
        record = await applied(ctx, {
          type: 'request',
          target: { service, pick: 'all' },
          fault: { kind: 'abort', probability: 1, label: PARTITION_FALLBACK },
          durationMs,
          label: PARTITION_FALLBACK,
        });
        bus.publish('control.notice', {
          level: 'info',
          message: `the process runtime has no network to cut: ${service} resets every incoming connection for ${Math.round(durationMs / 1000)} s instead (its own outgoing calls still work)`,
          at: new Date().toISOString(),
        });
      } else {
        record = await applied(ctx, {
          type: 'container',
          target: { service, pick: 'all' },
          change: { action: 'partition' },
          durationMs,
        });
      }
      const after = (await runtime.status()).services.find((s) => s.name === service);
      return {
        service: cluster.serviceToApi(after ?? { name: service, instances: [] }),
        healsAt: record.expiresAt ?? new Date(Date.now() + durationMs).toISOString(),
      };
    },

    'service.logs': async ({ service, lines }) => {
      const { status } = await cluster.require();
      const record = status.services.find((s) => s.name === service);
      if (!record) throw new ApiError('NOT_FOUND', `service "${service}" is not part of this cluster`);
      if (!status.logs) {
        throw new ApiError('UNSUPPORTED', `the ${status.runtime} runtime does not keep log files yet`);
      }
      const logs = status.logs;
      return {
        service,
        instances: await Promise.all(
          record.instances.map(async (i) => ({
            instanceId: i.id,
            lines: await tailLines(join(logs, `${i.id}.log`), lines, Math.min(lines * 1024, 4 * 1024 * 1024)),
          })),
        ),
      };
    },
  };
}

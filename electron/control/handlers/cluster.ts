/** cluster.* and service.*: the runtime, driven for the API. */
import { join } from 'node:path';
import { ApiError } from '../../api/errors.ts';
import { tailLines } from '../../../sample-cluster/runtime/process/logs.ts';
import { detectRuntimeChoice, resolveRuntimeChoice } from '../../../sample-cluster/runtime/select.ts';
import type { ServiceStatus } from '../../../sample-cluster/runtime/types.ts';
import type { ControlContext } from '../context.ts';
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
      if (runtime.kind !== 'process') {
        throw new ApiError('UNSUPPORTED', `pause is not available on the ${runtime.kind} runtime yet`);
      }
      const instances = (await cluster.running(status, service)).filter(
        (r) => instanceId === undefined || r.instance.id === instanceId,
      );
      if (instances.length === 0) {
        throw new ApiError('CONFLICT', `${instanceId ?? service} is not running; nothing to pause`);
      }
      const resumesAt = await pauses.pause(
        runtime,
        service,
        instances.map((r) => r.instance.id),
        durationMs,
      );
      // One look (a frozen instance costs a probe timeout); watchers announce the change.
      const after = (await runtime.status()).services.find((s) => s.name === service);
      return { service: cluster.serviceToApi(after ?? { name: service, instances: [] }), resumesAt };
    },

    'service.resume': async ({ service }) => {
      const { runtime } = await cluster.require();
      await pauses.resume(runtime, service);
      const after = (await runtime.status()).services.find((s) => s.name === service);
      return serviceResult(after ?? { name: service, instances: [] });
    },

    'service.partition': async () => {
      const { runtime } = await cluster.require();
      throw new ApiError(
        'UNSUPPORTED',
        `partition needs the Docker runtime (a network to cut); this cluster runs on the ${runtime.kind} runtime — try \`chaoscope fault <service> --abort-rate 1\` instead`,
      );
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

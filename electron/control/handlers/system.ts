/** settings.* and system.*: the control plane itself. */
import { API_VERSION } from '../../api/version.ts';
import { AVAILABLE_RUNTIMES } from '../../../sample-cluster/runtime/select.ts';
import { appVersion } from '../app-version.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

type SystemHandlers = Pick<Handlers, 'settings.get' | 'settings.set' | 'system.info' | 'system.shutdown'>;

export function systemHandlers(ctx: ControlContext): SystemHandlers {
  return {
    'settings.get': async () => ctx.settings.get(),
    'settings.set': async (patch) => ctx.settings.update(patch),
    'system.info': async () => {
      const found = await ctx.cluster.find().catch(() => null);
      return {
        apiVersion: API_VERSION,
        version: appVersion(),
        node: process.versions.node,
        platform: `${process.platform}-${process.arch}`,
        pid: process.pid,
        startedAt: ctx.startedAt,
        home: ctx.paths.home,
        runtimes: { default: AVAILABLE_RUNTIMES[0]!, available: [...AVAILABLE_RUNTIMES] },
        clusterRuntime: found?.runtime.kind ?? null,
        urls: {
          collector: ctx.telemetry.collector.otlpUrl,
          jaeger: ctx.telemetry.collector.jaegerUrl,
          gateway: found?.status.gateway ?? null,
          dashboard: ctx.dashboardUrl(),
        },
        notices: [...ctx.notices],
      };
    },
    'system.shutdown': async ({ stopCluster }) => {
      ctx.requestShutdown(stopCluster);
      return { stopping: true as const };
    },
  };
}

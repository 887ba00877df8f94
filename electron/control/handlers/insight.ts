/** The handlers of the insight commands (electron/api/insight-commands.ts). */
import { ApiError } from '../../api/errors.ts';
import type { INSIGHT_COMMANDS } from '../../api/insight-commands.ts';
import { findInTrace, getOutlineColumns, getSpan } from '../../../telemetry/query/index.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';
import { packOutline } from '../insight/outline.ts';
import { spanToApi } from './telemetry.ts';
import { deregister, listRegistry } from '../insight/registry.ts';

export function insightHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof INSIGHT_COMMANDS> {
  const { telemetry, cluster } = ctx;
  return {
    'traces.outline': async ({ traceId }) => {
      const columns = await telemetry.query((reader) => getOutlineColumns(reader, traceId));
      if (!columns) throw new ApiError('NOT_FOUND', `no span of trace ${traceId} is stored`);
      return packOutline(columns);
    },

    'traces.span': async ({ traceId, spanId }) => {
      const s = await telemetry.query((reader) => getSpan(reader, traceId, spanId));
      if (!s) throw new ApiError('NOT_FOUND', `span ${spanId} of trace ${traceId} is not stored`);
      return spanToApi(s);
    },

    'traces.find': async ({ traceId, text }) => {
      const found = await telemetry.query((reader) => findInTrace(reader, traceId, text));
      if (!found) throw new ApiError('NOT_FOUND', `no span of trace ${traceId} is stored`);
      return {
        traceId,
        text,
        matches: [...found.matches].map((m) => ({ ...m, fields: [...m.fields] })),
        truncated: found.truncated,
      };
    },

    'registry.list': async () => listRegistry((await cluster.require()).status),

    'registry.deregister': async ({ service, instanceId }) => {
      const { runtime, status } = await cluster.require();
      await deregister(runtime, status, service, instanceId);
      return { service, instanceId, deregistered: true as const };
    },
  };
}

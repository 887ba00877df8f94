/** The handlers of the insight commands (electron/api/insight-commands.ts). */
import type { INSIGHT_COMMANDS } from '../../api/insight-commands.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

export function insightHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof INSIGHT_COMMANDS> {
  void ctx;
  return {};
}

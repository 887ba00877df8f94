/** The handlers of the chaos commands (electron/api/chaos-commands.ts). */
import type { CHAOS_COMMANDS } from '../../api/chaos-commands.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

export function engineHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof CHAOS_COMMANDS> {
  void ctx;
  return {};
}

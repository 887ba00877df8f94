/** The handlers of the experiment commands (electron/api/experiment-commands.ts). */
import type { EXPERIMENT_COMMANDS } from '../../api/experiment-commands.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

export function experimentsHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof EXPERIMENT_COMMANDS> {
  void ctx;
  return {};
}

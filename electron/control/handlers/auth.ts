/** The handlers of the auth commands (electron/api/auth-commands.ts). */
import type { AUTH_COMMANDS } from '../../api/auth-commands.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';

export function authHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof AUTH_COMMANDS> {
  void ctx;
  return {};
}

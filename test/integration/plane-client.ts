/**
 * What the control-plane tests share: typed calls on an in-process control plane (the answer, or
 * the error it refused with) and a wait that says what it waited for when time runs out.
 */
import type { CommandInput, CommandName, CommandOutput } from '../../electron/api/commands.ts';
import type { ApiErrorShape } from '../../electron/api/errors.ts';
import type { ControlPlane } from '../../electron/control/control-plane.ts';

export interface PlaneClient {
  readonly invoke: <K extends CommandName>(name: K, input?: CommandInput<K>) => Promise<CommandOutput<K>>;
  /** The error a command answered with; fails when it was accepted. */
  readonly refused: (name: CommandName, input: unknown) => Promise<ApiErrorShape>;
}

/** `plane` is read at each call: tests restart their control plane. */
export function planeClient(plane: () => ControlPlane): PlaneClient {
  return {
    invoke: async (name, input) => {
      const answer = await plane().invoke(name, input ?? {});
      if (!answer.ok)
        throw Object.assign(new Error(`${name}: ${answer.error.code} ${answer.error.message}`), {
          api: answer.error,
        });
      return answer.value as never;
    },
    refused: async (name, input) => {
      const answer = await plane().invoke(name, input);
      if (answer.ok) throw new Error(`${name} was accepted`);
      return answer.error;
    },
  };
}

/** Poll until `check` gives a value (not undefined/null/false), or fail saying what was awaited. */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 300,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

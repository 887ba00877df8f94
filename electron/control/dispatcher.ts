/**
 * The one entry point of every command, whatever the transport (IPC, HTTP, in-process CLI):
 * validate the input against the contract, run the handler, validate what it returns, and answer
 * with the contract's envelope. It never throws: a transport only has to send what it gets.
 */
import type { z } from 'zod';
import {
  COMMANDS,
  isCommandName,
  type CommandArgs,
  type CommandName,
  type CommandOutput,
} from '../api/commands.ts';
import { ApiError, describeIssues, type ApiErrorShape, type InvokeResult } from '../api/errors.ts';
import { toApiError } from './errors.ts';

export interface InvokeContext {
  /** Aborted when the caller went away (HTTP client disconnected, Ctrl+C). */
  readonly signal?: AbortSignal;
}

export type Handler<K extends CommandName> = (
  args: CommandArgs<K>,
  ctx: InvokeContext,
) => Promise<CommandOutput<K>>;
export type Handlers = { [K in CommandName]: Handler<K> };

export interface Dispatcher {
  invoke(name: string, rawInput: unknown, ctx?: InvokeContext): Promise<InvokeResult>;
}

export function createDispatcher(
  handlers: Handlers,
  options: { onInternalError?: (name: string, error: unknown) => void } = {},
): Dispatcher {
  return {
    async invoke(name, rawInput, ctx = {}) {
      if (!isCommandName(name)) return failure(new ApiError('NOT_FOUND', `no command "${name}"`));
      const command = COMMANDS[name];
      const input = (command.input as z.ZodType).safeParse(rawInput ?? undefined);
      if (!input.success) {
        return failure(new ApiError('BAD_REQUEST', `invalid input for ${name}`, describeIssues(input.error)));
      }
      let value: unknown;
      try {
        const handler = handlers[name] as (args: unknown, ctx: InvokeContext) => Promise<unknown>;
        value = await handler(input.data, ctx);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.code === 'INTERNAL') options.onInternalError?.(name, error);
        return failure(apiError);
      }
      const output = (command.output as z.ZodType).safeParse(value);
      if (!output.success) {
        const error = new ApiError(
          'INTERNAL',
          `${name} produced an answer outside the contract`,
          describeIssues(output.error),
        );
        options.onInternalError?.(name, error);
        return failure(error);
      }
      return { ok: true, value: output.data };
    },
  };
}

function failure(error: ApiError): { ok: false; error: ApiErrorShape } {
  return { ok: false, error: error.toJSON() };
}

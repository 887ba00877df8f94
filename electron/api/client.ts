/**
 * The typed client every front end uses: the renderer (over the preload bridge or web mode) and
 * the CLI (over HTTP). A transport only moves JSON; this checks it. Inputs are checked before they
 * leave (a mistake is a BAD_REQUEST here, not a round trip), outputs and events when they arrive,
 * so a control plane of another version fails loudly instead of feeding a view wrong data.
 *
 *   const api = createApiClient(transport);
 *   await api.cluster.up({ loadgen: true });
 *   const off = api.on('breaker.transition', (t) => …);
 */
import type { z } from 'zod';
import { COMMANDS, type CommandInput, type CommandName, type CommandOutput } from './commands.ts';
import { ApiError, describeIssues, invokeResultSchema } from './errors.ts';
import {
  EVENTS,
  eventBatchSchema,
  type ApiEvent,
  type EventBatch,
  type EventPayload,
  type EventTopic,
} from './events.ts';

export interface InvokeOptions {
  /** Abort the call (the transport drops the request; the control plane stops the work where it can). */
  readonly signal?: AbortSignal;
}

/** What a transport provides: it moves the envelope and the batches, nothing else. */
export interface ApiTransport {
  /**
   * Send a command; resolve with the control plane's answer envelope (`{ok, value}` or
   * `{ok: false, error}`) as it arrived. Reject only when the answer could not be had at all.
   */
  invoke(name: string, input: unknown, options?: InvokeOptions): Promise<unknown>;
  /** Receive event batches as they arrive; returns the unsubscribe function. */
  subscribe(listener: (batch: unknown) => void): () => void;
}

type Group<N extends string> = N extends `${infer G}.${string}` ? G : never;
type Method<N extends string, G extends string> = N extends `${G}.${infer M}` ? M : never;
type Call<K extends CommandName> =
  Record<string, never> extends Exclude<CommandInput<K>, undefined>
    ? (input?: CommandInput<K>, options?: InvokeOptions) => Promise<CommandOutput<K>>
    : (input: CommandInput<K>, options?: InvokeOptions) => Promise<CommandOutput<K>>;

/** One method per command, grouped by the part of its name before the dot: `api.faults.inject()`. */
export type ApiGroups = {
  [G in Group<CommandName>]: {
    [M in Method<CommandName, G>]: `${G}.${M}` extends CommandName ? Call<`${G}.${M}`> : never;
  };
};

export interface ChaoscopeApi extends ApiGroups {
  /** The same as the grouped methods, by name. */
  invoke<K extends CommandName>(
    name: K,
    input?: CommandInput<K>,
    options?: InvokeOptions,
  ): Promise<CommandOutput<K>>;
  /** Listen to one topic; returns the unsubscribe function. */
  on<T extends EventTopic>(topic: T, listener: (data: EventPayload<T>) => void): () => void;
  /** Listen to whole batches (to apply many changes at once, or to notice gaps by `seq`). */
  onBatch(listener: (batch: EventBatch) => void): () => void;
  /** Batches that did not match the contract; they were dropped (a version mismatch, or a bug). */
  onInvalidBatch(listener: (reason: string) => void): () => void;
}

export function createApiClient(transport: ApiTransport): ChaoscopeApi {
  const topicListeners = new Map<EventTopic, Set<(data: unknown) => void>>();
  const batchListeners = new Set<(batch: EventBatch) => void>();
  const invalidListeners = new Set<(reason: string) => void>();
  let unsubscribe: (() => void) | null = null;

  const listenerCount = () =>
    batchListeners.size + [...topicListeners.values()].reduce((n, set) => n + set.size, 0);

  const deliver = (raw: unknown) => {
    const parsed = eventBatchSchema.safeParse(raw);
    if (!parsed.success) {
      const reason = `an event batch did not match the contract: ${describeIssues(parsed.error).slice(0, 3).join('; ')}`;
      for (const listener of invalidListeners) listener(reason);
      return;
    }
    const batch = parsed.data as EventBatch;
    for (const listener of batchListeners) listener(batch);
    for (const event of batch.events) {
      for (const listener of topicListeners.get(event.topic) ?? []) listener(event.data);
    }
  };

  // Subscribe to the transport only while someone listens, so a CLI verb opens no socket.
  const ensureSubscribed = () => {
    if (!unsubscribe) unsubscribe = transport.subscribe(deliver);
  };
  const releaseIfIdle = () => {
    if (listenerCount() === 0 && unsubscribe) {
      unsubscribe();
      unsubscribe = null;
    }
  };

  const invoke = async <K extends CommandName>(
    name: K,
    input?: CommandInput<K>,
    options?: InvokeOptions,
  ): Promise<CommandOutput<K>> => {
    const command = COMMANDS[name];
    if (!command) throw new ApiError('NOT_FOUND', `no command "${String(name)}"`);
    const checked = (command.input as z.ZodType).safeParse(input);
    if (!checked.success) {
      throw new ApiError('BAD_REQUEST', `invalid input for ${name}`, describeIssues(checked.error));
    }
    const answer = invokeResultSchema.safeParse(await transport.invoke(name, checked.data, options));
    if (!answer.success) {
      throw new ApiError(
        'INTERNAL',
        `the answer to ${name} was not an API envelope`,
        describeIssues(answer.error),
      );
    }
    if (!answer.data.ok) throw ApiError.from(answer.data.error);
    const output = (command.output as z.ZodType).safeParse(answer.data.value);
    if (!output.success) {
      throw new ApiError(
        'INTERNAL',
        `the answer to ${name} did not match the contract (a control plane of another version?)`,
        describeIssues(output.error),
      );
    }
    return output.data as CommandOutput<K>;
  };

  const groups: Record<
    string,
    Record<string, (input?: unknown, options?: InvokeOptions) => Promise<unknown>>
  > = {};
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    const [group, method] = name.split('.') as [string, string];
    (groups[group] ??= {})[method] = (input?: unknown, options?: InvokeOptions) =>
      invoke(name, input as never, options);
  }

  const api = {
    ...groups,
    invoke,
    on<T extends EventTopic>(topic: T, listener: (data: EventPayload<T>) => void): () => void {
      if (!Object.hasOwn(EVENTS, topic)) throw new ApiError('BAD_REQUEST', `no event topic "${topic}"`);
      let set = topicListeners.get(topic);
      if (!set) topicListeners.set(topic, (set = new Set()));
      const wrapped = listener as (data: unknown) => void;
      set.add(wrapped);
      ensureSubscribed();
      return () => {
        set.delete(wrapped);
        releaseIfIdle();
      };
    },
    onBatch(listener: (batch: EventBatch) => void): () => void {
      batchListeners.add(listener);
      ensureSubscribed();
      return () => {
        batchListeners.delete(listener);
        releaseIfIdle();
      };
    },
    onInvalidBatch(listener: (reason: string) => void): () => void {
      invalidListeners.add(listener);
      return () => invalidListeners.delete(listener);
    },
  };
  return api as unknown as ChaoscopeApi;
}

export type { ApiEvent };

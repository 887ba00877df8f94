/**
 * The IPC side of the contract. One `ipcMain.handle` per command (`chaoscope:invoke:<name>`): each
 * handler first checks who is asking (our window's main frame, on `app://chaoscope/`), then parses
 * the payload with that command's input schema, and only then calls the control plane. Answers go
 * back as the contract's envelope, so an error keeps its code and details across the process
 * boundary (Electron would turn a thrown error into a bare message).
 *
 * Events: a page asks for them (`chaoscope:events:subscribe`), main subscribes to the control plane
 * on its behalf and forwards each batch on one channel; the subscription ends when the page asks,
 * reloads, navigates or is destroyed, so a reloaded page gets the control plane's state replay.
 */
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import type { z } from 'zod';
import { COMMANDS, COMMAND_NAMES, type CommandName } from '../api/commands.ts';
import { describeIssues, isApiError, type ApiErrorShape, type InvokeResult } from '../api/errors.ts';
import type { EventBatch } from '../api/events.ts';
import {
  EVENTS_CHANNEL,
  SUBSCRIBE_CHANNEL,
  UNSUBSCRIBE_CHANNEL,
  invokeChannel,
} from '../preload/channels.ts';
import { isAppUrl } from './app-origin.ts';

/** What the shell needs of the control plane: run a command, and stream event batches. */
export interface CommandBackend {
  /** Run a command; answers with the contract's envelope (the control plane validates again). */
  invoke(name: CommandName, input: unknown): Promise<InvokeResult>;
  /** Event batches for one subscriber (a state replay first); returns the unsubscribe function. */
  subscribe(listener: (batch: EventBatch) => void): () => void;
}

type SenderEvent = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

export type SenderVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Only our own page may talk to the control plane: the main frame (never a subframe) of one of our
 * windows, showing a document of our origin. A frame that navigated elsewhere, or is gone, has
 * `senderFrame === null` and is refused too.
 */
export function checkSender(
  event: SenderEvent,
  isOurContents: (contents: WebContents) => boolean,
): SenderVerdict {
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'the sending frame is gone or navigated away' };
  if (frame.parent !== null) return { ok: false, reason: 'a subframe may not use the API' };
  if (!isAppUrl(frame.url))
    return { ok: false, reason: `a page outside the app (${frame.url}) may not use the API` };
  if (!isOurContents(event.sender)) return { ok: false, reason: 'not a window of this app' };
  return { ok: true };
}

export interface IpcWiringOptions {
  readonly backend: CommandBackend;
  /** Whether a web contents is one of the app's windows (the main window's). */
  readonly isOurContents: (contents: WebContents) => boolean;
  /** Told about refused messages: a line for the log. */
  readonly onRefused?: (channel: string, reason: string) => void;
}

/** Registers every handler; returns the function that removes them all (quit, tests). */
export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>,
  options: IpcWiringOptions,
): () => void {
  const { backend, isOurContents } = options;
  const refused = (channel: string, reason: string) => options.onRefused?.(channel, reason);

  const channels: string[] = [];
  for (const name of COMMAND_NAMES) {
    const channel = invokeChannel(name);
    const schema: z.ZodType = COMMANDS[name].input;
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<InvokeResult> => {
      const sender = checkSender(event, isOurContents);
      if (!sender.ok) {
        refused(channel, sender.reason);
        return failure({ code: 'FORBIDDEN', message: `refused ${name}: ${sender.reason}` });
      }
      if (args.length > 1) {
        refused(channel, `${args.length} arguments`);
        return failure({
          code: 'BAD_REQUEST',
          message: `invalid input for ${name}: expected one argument, got ${args.length}`,
        });
      }
      const parsed = schema.safeParse(args[0]);
      if (!parsed.success) {
        const details = describeIssues(parsed.error);
        refused(channel, details.join('; '));
        return failure({
          code: 'BAD_REQUEST',
          message: `invalid input for ${name}: ${details[0] ?? 'malformed'}`,
          details,
        });
      }
      try {
        return await backend.invoke(name, parsed.data);
      } catch (error) {
        return failure(toErrorShape(error));
      }
    });
    channels.push(channel);
  }

  const subscriptions = new Map<number, () => void>();
  /** Web contents whose lifecycle we already watch (once each, however often they reload). */
  const watched = new Set<number>();
  const stop = (id: number) => {
    subscriptions.get(id)?.();
    subscriptions.delete(id);
  };
  const onSubscribe = (event: IpcMainEvent) => {
    const sender = checkSender(event, isOurContents);
    if (!sender.ok) return refused(SUBSCRIBE_CHANNEL, sender.reason);
    const contents = event.sender;
    // Read once: a destroyed web contents throws on property access.
    const id = contents.id;
    stop(id);
    const unsubscribe = backend.subscribe((batch) => {
      if (!contents.isDestroyed()) contents.send(EVENTS_CHANNEL, batch);
    });
    subscriptions.set(id, unsubscribe);
    if (watched.has(id)) return;
    watched.add(id);
    // A reload or navigation leaves the old page's subscription behind: end it with the page.
    contents.once('destroyed', () => {
      stop(id);
      watched.delete(id);
    });
    contents.on('did-start-navigation', (details) => {
      if (details.isMainFrame && !details.isSameDocument) stop(id);
    });
  };
  const onUnsubscribe = (event: IpcMainEvent) => {
    const sender = checkSender(event, isOurContents);
    if (!sender.ok) return refused(UNSUBSCRIBE_CHANNEL, sender.reason);
    stop(event.sender.id);
  };
  ipcMain.on(SUBSCRIBE_CHANNEL, onSubscribe);
  ipcMain.on(UNSUBSCRIBE_CHANNEL, onUnsubscribe);

  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
    ipcMain.removeListener(SUBSCRIBE_CHANNEL, onSubscribe);
    ipcMain.removeListener(UNSUBSCRIBE_CHANNEL, onUnsubscribe);
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  };
}

function failure(error: ApiErrorShape): InvokeResult {
  return { ok: false, error };
}

/** An `ApiError` keeps its code; anything else is a bug, reported without its stack. */
export function toErrorShape(error: unknown): ApiErrorShape {
  if (isApiError(error)) return error.toJSON();
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'failed';
  return { code: 'INTERNAL', message };
}

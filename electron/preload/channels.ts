/**
 * The IPC channels between the preload and the main process: one `invoke` channel per command of
 * the contract (so each handler is bound to exactly one input schema, and a name outside the
 * contract has no handler at all), plus the event stream. Shared by both sides; imports nothing
 * but the contract, so the sandboxed preload bundle stays small.
 */
import type { CommandName } from '../api/index.ts';

const PREFIX = 'chaoscope:';

/** `chaoscope:invoke:cluster.up`, … */
export function invokeChannel(name: CommandName): string {
  return `${PREFIX}invoke:${name}`;
}

/** Renderer → main: start sending this page event batches (main subscribes to the control plane). */
export const SUBSCRIBE_CHANNEL = `${PREFIX}events:subscribe`;
/** Renderer → main: stop sending event batches. */
export const UNSUBSCRIBE_CHANNEL = `${PREFIX}events:unsubscribe`;
/** Main → renderer: one event batch (`EventBatch`). */
export const EVENTS_CHANNEL = `${PREFIX}events`;

/** The name under which the bridge appears in the page: `window.chaoscope`. */
export const BRIDGE_KEY = 'chaoscope';

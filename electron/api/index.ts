/**
 * The control-plane API contract: commands, events, errors and the typed client. Depends on zod
 * only, so the renderer (in a browser), the preload, the main process, the control plane and the
 * CLI all share it.
 */
export { API_VERSION } from './version.ts';
export * from './errors.ts';
export * from './schemas.ts';
export * from './chaos.ts';
export * from './schedules.ts';
export * from './chaos-commands.ts';
export * from './auth-commands.ts';
export * from './experiments.ts';
export * from './experiment-commands.ts';
export * from './insight-commands.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './client.ts';

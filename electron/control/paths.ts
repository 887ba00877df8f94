/**
 * Where the control plane keeps its state. The home directory is the runtime's rule (the runtime
 * may not import the app, so the logic lives there and is re-exported here for the app and CLI).
 */
import { join } from 'node:path';
import {
  chaoscopeHome,
  processClusterPaths,
  type ProcessClusterPaths,
} from '../../sample-cluster/runtime/paths.ts';

export { chaoscopeHome, processClusterPaths, type ProcessClusterPaths };

export interface ControlPaths {
  readonly home: string;
  /** The control plane's own directory (mode 0700). */
  readonly controlDir: string;
  /**
   * The user-only (0600) file a running control plane writes so the CLI can find it: its URL and
   * access token. Removed on a clean exit; a stale one (dead pid) is replaced.
   */
  readonly stateFile: string;
  /** Held (O_EXCL, with the holder's pid) while a control plane runs: one per user and home. */
  readonly lockFile: string;
  /** Output of a control plane started in the background (`up --detach`). */
  readonly daemonLog: string;
  /** Persisted settings (settings.get/settings.set). */
  readonly settingsFile: string;
  /** The telemetry store's directory. */
  readonly telemetryDir: string;
  readonly processCluster: ProcessClusterPaths;
}

export function controlPaths(env: NodeJS.ProcessEnv = process.env): ControlPaths {
  return controlPathsFor(chaoscopeHome(env));
}

export function controlPathsFor(home: string): ControlPaths {
  const controlDir = join(home, 'control');
  return {
    home,
    controlDir,
    stateFile: join(controlDir, 'state.json'),
    lockFile: join(controlDir, 'lock'),
    daemonLog: join(controlDir, 'daemon.log'),
    settingsFile: join(home, 'settings.json'),
    telemetryDir: join(home, 'telemetry'),
    processCluster: processClusterPaths(home),
  };
}

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
  /**
   * The user-only (0600) file a running control plane (web mode, the app) writes so the CLI can
   * find it: its URL and access token. Not written yet; the CLI drives the runtime directly.
   */
  readonly controlFile: string;
  readonly processCluster: ProcessClusterPaths;
}

export function controlPaths(env: NodeJS.ProcessEnv = process.env): ControlPaths {
  const home = chaoscopeHome(env);
  return { home, controlFile: join(home, 'control.json'), processCluster: processClusterPaths(home) };
}

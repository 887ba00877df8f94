/**
 * Where Chaoscope keeps its state on this machine. The runtime owns this logic (it must not import
 * the app); the control plane and the CLI reuse it through electron/control/paths.ts.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * CHAOSCOPE_HOME, else $XDG_DATA_HOME/chaoscope, else ~/.local/share/chaoscope. A relative
 * XDG_DATA_HOME is ignored as the XDG spec asks; a relative CHAOSCOPE_HOME is taken from the
 * current directory, because a user who sets it means it.
 */
export function chaoscopeHome(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.CHAOSCOPE_HOME?.trim();
  if (explicit) return resolve(explicit);
  const xdg = env.XDG_DATA_HOME?.trim();
  if (xdg && isAbsolute(xdg)) return join(xdg, 'chaoscope');
  return join(env.HOME?.trim() || homedir(), '.local', 'share', 'chaoscope');
}

export interface ProcessClusterPaths {
  readonly home: string;
  /** One process cluster per home lives here. */
  readonly dir: string;
  /** Secrets inside (the admin token): mode 0600. */
  readonly stateFile: string;
  readonly lockFile: string;
  readonly dataDir: string;
  readonly logsDir: string;
  /** The services' JavaScript bundles, rebuilt when their sources change. */
  readonly bundleDir: string;
  serviceDataDir(service: string): string;
  logFile(instanceId: string): string;
}

export function processClusterPaths(home: string): ProcessClusterPaths {
  const dir = join(home, 'process-cluster');
  const dataDir = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  return {
    home,
    dir,
    stateFile: join(dir, 'state.json'),
    lockFile: join(dir, 'state.lock'),
    dataDir,
    logsDir,
    bundleDir: join(dir, 'bundles'),
    serviceDataDir: (service) => join(dataDir, service),
    logFile: (instanceId) => join(logsDir, `${instanceId}.log`),
  };
}

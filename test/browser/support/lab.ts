/**
 * The browser tier's test bench: the renderer built into a throwaway folder, a real control plane
 * in web mode (in this process, over a throwaway CHAOSCOPE_HOME) and, when asked, the tweet
 * cluster as local processes with load. Chromium itself is in browser.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandInput, CommandName, CommandOutput } from '../../../electron/api/commands.ts';
import { startControlPlane, type ControlPlane } from '../../../electron/control/control-plane.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Build the renderer with Vite into `outDir` (a folder of its own: other builds may run meanwhile). */
export async function buildDashboard(outDir: string): Promise<void> {
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const args = [
    vite,
    'build',
    '--config',
    join(ROOT, 'renderer', 'vite.config.ts'),
    '--outDir',
    outDir,
    '--emptyOutDir',
    '--logLevel',
    'error',
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}

export interface Lab {
  readonly home: string;
  readonly plane: ControlPlane;
  /** The web mode origin, e.g. http://127.0.0.1:41234. */
  readonly origin: string;
  /** The tokenised URL, as `chaoscope serve` prints it (the first load sets the cookie). */
  readonly dashboard: string;
  invoke<K extends CommandName>(name: K, input?: CommandInput<K>): Promise<CommandOutput<K>>;
  stop(): Promise<void>;
}

/**
 * A control plane in web mode serving `distDir` and, unless `cluster: false`, a process cluster
 * with load on gateway port `gatewayPort` (18180 by default: clear of the integration tier's 18080).
 */
export async function startLab(
  distDir: string,
  options: { cluster?: boolean; gatewayPort?: number } = {},
): Promise<Lab> {
  const home = tempDir('chaoscope-lab-home-');
  let plane: ControlPlane;
  try {
    plane = await startControlPlane({
      home,
      env: { ...process.env, CHAOSCOPE_HOME: home, XDG_DATA_HOME: home },
      webPort: 0,
      distDir,
      mode: 'serve',
    });
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const invoke = async <K extends CommandName>(
    name: K,
    input?: CommandInput<K>,
  ): Promise<CommandOutput<K>> => {
    const answer = await plane.invoke(name, input ?? {});
    if (!answer.ok) throw new Error(`${name}: ${answer.error.code} ${answer.error.message}`);
    return answer.value as CommandOutput<K>;
  };
  const stop = async () => {
    await plane.close({ stopCluster: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    if (options.cluster !== false) {
      await invoke('cluster.up', {
        runtime: 'process',
        loadgen: true,
        gatewayPort: options.gatewayPort ?? 18180,
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const origin = plane.url ?? '';
  return {
    home,
    plane,
    origin,
    dashboard: `${origin}/?token=${encodeURIComponent(plane.token)}`,
    invoke,
    stop,
  };
}

export type Bench = Lab;

/**
 * A lab with a dashboard built for it and no cluster until the test starts one — from the UI, as
 * a user would — on `gatewayPort` (the settings say so).
 */
export async function startBench(options: { gatewayPort: number }): Promise<Bench> {
  const dist = tempDir('chaoscope-lab-dist-');
  let lab: Lab;
  try {
    await buildDashboard(dist);
    lab = await startLab(dist, { cluster: false });
  } catch (error) {
    rmSync(dist, { recursive: true, force: true });
    throw error;
  }
  await lab.invoke('settings.set', { gatewayPort: options.gatewayPort, runtime: 'process' });
  return {
    ...lab,
    async stop() {
      await lab.stop();
      rmSync(dist, { recursive: true, force: true });
    },
  };
}

export { waitFor as eventually } from '../../integration/plane-client.ts';

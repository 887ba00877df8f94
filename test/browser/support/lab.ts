/**
 * The dashboard's test bench: the renderer built into a throwaway folder, a real control plane in
 * web mode (in this process, over a throwaway CHAOSCOPE_HOME), and no cluster until the test
 * starts one — from the UI, as a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandInput, CommandName, CommandOutput } from '../../../electron/api/commands.ts';
import { startControlPlane, type ControlPlane } from '../../../electron/control/control-plane.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

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

export interface Bench {
  readonly plane: ControlPlane;
  /** The tokenised URL, as `chaoscope serve` prints it. */
  readonly dashboard: string;
  readonly origin: string;
  invoke<K extends CommandName>(name: K, input?: CommandInput<K>): Promise<CommandOutput<K>>;
  stop(): Promise<void>;
}

export async function startBench(options: { gatewayPort: number }): Promise<Bench> {
  const dist = mkdtempSync(join(tmpdir(), 'chaoscope-ui1-dist-'));
  const home = mkdtempSync(join(tmpdir(), 'chaoscope-ui1-home-'));
  const cleanup = () => {
    rmSync(home, { recursive: true, force: true });
    rmSync(dist, { recursive: true, force: true });
  };
  let plane: ControlPlane;
  try {
    await buildDashboard(dist);
    plane = await startControlPlane({
      home,
      env: { ...process.env, CHAOSCOPE_HOME: home, XDG_DATA_HOME: home },
      webPort: 0,
      distDir: dist,
      mode: 'serve',
    });
  } catch (error) {
    cleanup();
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
  // Keep clear of the integration tier's (18080) and the traces tests' (18180) gateways.
  await invoke('settings.set', { gatewayPort: options.gatewayPort, runtime: 'process' });
  const origin = plane.url ?? '';
  return {
    plane,
    origin,
    dashboard: `${origin}/?token=${encodeURIComponent(plane.token)}`,
    invoke,
    async stop() {
      await plane.close({ stopCluster: true }).catch(() => undefined);
      cleanup();
    },
  };
}

/** Poll until `check` gives a truthy value, or fail after `timeoutMs` saying what was awaited. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 60_000,
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
    await new Promise((r) => setTimeout(r, 400));
  }
}

/**
 * A throwaway CHAOSCOPE_HOME for a control-plane test: the control plane in this process (web mode
 * on, no built dashboard), the `chaoscope` CLI as a child process aimed at the same home, and a
 * clean-up that leaves no service process or file behind, however the test ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../../electron/control/control-plane.ts';
import { processClusterPaths } from '../../sample-cluster/runtime/paths.ts';
import { killAll, recordedProcesses } from '../../sample-cluster/runtime/process/fixtures/fake-cluster.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/chaoscope.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  readonly child: ChildProcess;
  /** What it wrote so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly done: Promise<CliResult>;
}

export interface PlaneHome {
  readonly home: string;
  /** All the control plane and the CLI see of the environment: PATH, HOME and this home. */
  readonly env: { PATH: string; HOME: string; CHAOSCOPE_HOME: string };
  readonly open: () => Promise<ControlPlane>;
  /** `chaoscope <args>` as a child process, on this home. */
  readonly cli: (args: readonly string[]) => CliRun;
  /** Close `plane` (stopping its cluster), kill what a dead one left running, remove the home. */
  readonly cleanUp: (plane: ControlPlane | undefined) => Promise<void>;
}

export function planeHome(prefix: string): PlaneHome {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CHAOSCOPE_HOME: home };
  return {
    home,
    env,
    open: () => startControlPlane({ home, env, webPort: 0, distDir: join(home, 'dist-not-built') }),
    cli: (args) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      return {
        child,
        stdout: () => stdout,
        stderr: () => stderr,
        done: new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))),
      };
    },
    cleanUp: async (plane) => {
      await plane?.close({ stopCluster: true }).catch(() => undefined);
      killAll(recordedProcesses(processClusterPaths(home).stateFile));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

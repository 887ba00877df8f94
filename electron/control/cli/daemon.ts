/**
 * `up --detach` with no control plane running: start one in the background (`chaoscope serve
 * --daemon`, detached, its output in <home>/control/daemon.log) and wait until it answers.
 */
import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../../api/errors.ts';
import { tailLines } from '../../../sample-cluster/runtime/process/logs.ts';
import type { ControlPaths } from '../paths.ts';
import { findRunningControlPlane, isPidAlive, type ControlState } from '../state-file.ts';

export async function startDaemon(
  paths: ControlPaths,
  env: NodeJS.ProcessEnv,
  options: { port?: number; timeoutMs?: number },
): Promise<ControlState> {
  await mkdir(paths.controlDir, { recursive: true, mode: 0o700 });
  const log = await open(paths.daemonLog, 'a', 0o600);
  let pid: number | undefined;
  try {
    await log.write(`\n=== chaoscope: control plane starting at ${new Date().toISOString()} ===\n`);
    // The same entry this CLI runs from (bin/chaoscope.js, or a test's fixture), so it drives the same runtime.
    const entry = process.argv[1];
    if (!entry)
      throw new ApiError('FAILED', 'cannot tell which script runs the CLI; start `chaoscope serve` yourself');
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        entry,
        'serve',
        '--daemon',
        ...(options.port !== undefined ? ['--port', String(options.port)] : []),
      ],
      { detached: true, stdio: ['ignore', log.fd, log.fd], env, cwd: process.cwd() },
    );
    child.on('error', () => undefined);
    child.unref();
    pid = child.pid;
  } finally {
    await log.close();
  }
  if (pid === undefined)
    throw new ApiError('FAILED', `could not start the control plane (${process.execPath})`);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const state = await findRunningControlPlane(paths);
    // Another `up --detach` may have won the race: its control plane is as good as ours.
    if (state) return state;
    if (!isPidAlive(pid)) break;
    await sleep(100);
  }
  const tail = await tailLines(paths.daemonLog, 10);
  throw new ApiError(
    'FAILED',
    isPidAlive(pid)
      ? `the control plane (pid ${pid}) did not come up within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s (log: ${paths.daemonLog})`
      : `the control plane exited while starting (log: ${paths.daemonLog})`,
    tail.map((l) => `  ${l}`),
  );
}

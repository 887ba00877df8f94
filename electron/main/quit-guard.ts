/**
 * Quitting asks what to do with the cluster. Closing the app must not silently kill a cluster the
 * user may still be driving from the CLI, nor silently leave one running: while a cluster runs,
 * the user chooses — stop it and quit, quit and leave it running (the next launch or the CLI adopts
 * it), or cancel. The control plane is then closed cleanly either way, and only then does the app
 * really quit.
 */
import type { App } from 'electron';

export type QuitChoice = 'stop' | 'leave' | 'cancel';

export interface QuitGuardOptions {
  readonly app: Pick<App, 'on' | 'quit'>;
  /** Whether a cluster is running now (a failure to tell counts as "no": nothing to ask about). */
  readonly clusterRunning: () => Promise<boolean>;
  /** Ask the user (a dialog); only called while a cluster runs. */
  readonly ask: () => Promise<QuitChoice>;
  readonly stopCluster: () => Promise<void>;
  /** Close the control plane (servers, collector, store); the cluster is not touched. */
  readonly shutdown: () => Promise<void>;
  /** The user cancelled: e.g. bring a window back if the last one was closed. */
  readonly onCancel?: () => void;
  /** Stopping the cluster failed: tell the user (the app quits anyway; the cluster keeps running). */
  readonly onStopFailed?: (error: unknown) => Promise<void> | void;
  readonly log?: (message: string) => void;
  /** A control plane that does not close within this long is left behind (the app still quits). */
  readonly shutdownTimeoutMs?: number;
}

export type QuitPhase = 'running' | 'deciding' | 'closing' | 'done';

export interface QuitGuard {
  readonly phase: () => QuitPhase;
  /**
   * Quit without asking: `leave` for a signal from the terminal or an OS logout (the cluster keeps
   * running, to be adopted later), `stop` when a client asked the control plane to stop it all.
   */
  readonly quitWithoutAsking: (choice: Exclude<QuitChoice, 'cancel'>) => void;
}

export function installQuitGuard(options: QuitGuardOptions): QuitGuard {
  const log = options.log ?? (() => {});
  let phase: QuitPhase = 'running';

  const finish = async (choice: Exclude<QuitChoice, 'cancel'>) => {
    phase = 'closing';
    if (choice === 'stop') {
      try {
        await options.stopCluster();
      } catch (error) {
        log(`the cluster could not be stopped: ${error instanceof Error ? error.message : String(error)}`);
        await options.onStopFailed?.(error);
      }
    }
    const timeoutMs = options.shutdownTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    try {
      const outcome = await Promise.race([options.shutdown().then(() => 'closed' as const), timeout]);
      if (outcome === 'timeout')
        log(`the control plane did not close within ${timeoutMs} ms; quitting anyway`);
    } catch (error) {
      log(
        `the control plane did not close cleanly: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
    phase = 'done';
    options.app.quit();
  };

  const decide = async () => {
    const running = await options.clusterRunning().catch(() => false);
    const choice: QuitChoice = running ? await options.ask().catch((): QuitChoice => 'cancel') : 'leave';
    if (choice === 'cancel') {
      phase = 'running';
      options.onCancel?.();
      return;
    }
    await finish(choice);
  };

  options.app.on('before-quit', (event) => {
    if (phase === 'done') return;
    // Hold the quit until the choice is made and the control plane is closed.
    event.preventDefault();
    if (phase !== 'running') return;
    phase = 'deciding';
    void decide();
  });

  return {
    phase: () => phase,
    quitWithoutAsking: (choice) => {
      if (phase === 'closing' || phase === 'done') return;
      void finish(choice);
    },
  };
}

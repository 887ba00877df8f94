/**
 * One app per user: a second launch hands its arguments to the first (Electron's lock) and quits;
 * the first brings its window to the front. Two shells would mean two control planes racing over
 * one cluster.
 */
import type { App } from 'electron';

export function claimSingleInstance(
  app: Pick<App, 'requestSingleInstanceLock' | 'on' | 'quit'>,
  onSecondInstance: () => void,
): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', () => onSecondInstance());
  return true;
}

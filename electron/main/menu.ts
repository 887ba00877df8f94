/**
 * The application menu. Reload and the developer tools exist only in development: in a packaged
 * app they would be a way around the renderer's lockdown (and `devTools` is off there anyway).
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  /** Help → About: the versions, in a dialog. */
  readonly about: () => void;
  /** Help → Open Data Folder: where the cluster, logs and telemetry live. */
  readonly openDataFolder: () => void;
}

export interface MenuConfig {
  readonly appName: string;
  readonly platform: NodeJS.Platform;
  readonly isDev: boolean;
  readonly actions: MenuActions;
}

export function applicationMenuTemplate(config: MenuConfig): MenuItemConstructorOptions[] {
  const mac = config.platform === 'darwin';
  const about: MenuItemConstructorOptions = {
    label: `About ${config.appName}`,
    click: () => config.actions.about(),
  };
  const template: MenuItemConstructorOptions[] = [];
  if (mac) {
    template.push({
      label: config.appName,
      submenu: [
        about,
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  } else {
    template.push({ label: 'File', submenu: [{ role: 'quit' }] });
  }
  // Edit roles give text fields their copy/paste shortcuts (on macOS only the menu provides them).
  template.push({ role: 'editMenu' });
  template.push({
    label: 'View',
    submenu: [
      ...(config.isDev
        ? ([
            { role: 'reload' },
            { role: 'forceReload' },
            { role: 'toggleDevTools' },
            { type: 'separator' },
          ] satisfies MenuItemConstructorOptions[])
        : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  });
  template.push({ role: 'windowMenu' });
  template.push({
    role: 'help',
    submenu: [
      ...(mac ? [] : [about, { type: 'separator' } satisfies MenuItemConstructorOptions]),
      { label: 'Open Data Folder', click: () => config.actions.openDataFolder() },
    ],
  });
  return template;
}

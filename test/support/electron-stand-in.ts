/**
 * A STAND-IN for the `electron` module, for unit tests on machines without the Electron binary
 * (this one cannot download it). It is not Electron: it records what the shell asks of Electron
 * and replays the events Electron would emit, with the same names and argument shapes, so tests
 * can assert the security checklist (web preferences, CSP, protocol, navigation, permissions, IPC
 * sender checks) against the shell's real code. The real window is covered by the end-to-end test
 * wherever a binary exists.
 *
 * It implements only what the shell uses. Each test makes a fresh one: `createElectronStandIn()`.
 */
import { EventEmitter } from 'node:events';

/** Electron's event objects: `preventDefault()` plus the event's own fields. */
export class StandInEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export interface StandInFrame {
  url: string;
  parent: StandInFrame | null;
}

let nextContentsId = 1;

export class StandInWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly mainFrame: StandInFrame = { url: '', parent: null };
  /** Every `send(channel, …args)` made to this page. */
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  windowOpenHandler: ((details: { url: string }) => { action: 'allow' | 'deny' }) | null = null;
  #destroyed = false;

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    if (this.#destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
    this.emit('stand-in:sent', channel, ...args);
  }
  isDestroyed(): boolean {
    return this.#destroyed;
  }
  destroy(): void {
    this.#destroyed = true;
    this.emit('destroyed');
  }

  /** What Electron does when the page tries to navigate: returns whether it was allowed. */
  attemptNavigation(url: string, { isMainFrame = true }: { isMainFrame?: boolean } = {}): boolean {
    const details = Object.assign(new StandInEvent(), {
      url,
      isMainFrame,
      isSameDocument: false,
      frame: this.mainFrame,
    });
    this.emit('will-frame-navigate', details);
    if (isMainFrame && !details.defaultPrevented) this.emit('will-navigate', details, url);
    if (details.defaultPrevented) return false;
    if (isMainFrame) {
      this.emit(
        'did-start-navigation',
        Object.assign(new StandInEvent(), { url, isMainFrame, isSameDocument: false }),
      );
      this.mainFrame.url = url;
    }
    return true;
  }
  attemptRedirect(url: string): boolean {
    const details = Object.assign(new StandInEvent(), { url, isMainFrame: true, isSameDocument: false });
    this.emit('will-redirect', details, url);
    return !details.defaultPrevented;
  }
  /** `window.open(url)`: what the window-open handler decides (Electron allows without one). */
  attemptWindowOpen(url: string): 'allow' | 'deny' {
    return this.windowOpenHandler?.({ url }).action ?? 'allow';
  }
  attemptAttachWebview(): { allowed: boolean; webPreferences: Record<string, unknown> } {
    const event = new StandInEvent();
    const webPreferences: Record<string, unknown> = { preload: '/tmp/evil.js', nodeIntegration: true };
    this.emit('will-attach-webview', event, webPreferences, { src: 'https://example.com' });
    return { allowed: !event.defaultPrevented, webPreferences };
  }
}

export interface StandInOptions {
  packaged?: boolean;
  lockAvailable?: boolean;
  /** Called when a quit goes through (real Electron then ends the process). */
  onQuit?: () => void;
}

export function createElectronStandIn(options: StandInOptions = {}) {
  const calls: string[] = [];
  let ready = false;
  let resolveReady: () => void = () => {};
  const whenReadyPromise = new Promise<void>((resolve) => (resolveReady = resolve));

  class StandInApp extends EventEmitter {
    isPackaged = options.packaged ?? false;
    quitRequests = 0;
    /** Set when a quit went through (no `before-quit` listener prevented it). */
    quitted = false;
    readonly paths = new Map<string, string>();
    requestSingleInstanceLock(): boolean {
      calls.push('app.requestSingleInstanceLock');
      return options.lockAvailable ?? true;
    }
    enableSandbox(): void {
      if (ready) throw new Error('app.enableSandbox() must be called before the app is ready');
      calls.push('app.enableSandbox');
    }
    whenReady(): Promise<void> {
      return whenReadyPromise;
    }
    isReady(): boolean {
      return ready;
    }
    getName(): string {
      return 'Chaoscope';
    }
    getVersion(): string {
      return '0.1.0';
    }
    setPath(name: string, path: string): void {
      this.paths.set(name, path);
    }
    exit(code = 0): void {
      this.quitted = true;
      options.onQuit?.();
      process.exitCode = code;
    }
    quit(): void {
      this.quitRequests += 1;
      const event = new StandInEvent();
      this.emit('before-quit', event);
      if (event.defaultPrevented) return;
      this.quitted = true;
      options.onQuit?.();
    }
    /** Electron's `ready`: resolves `whenReady()`. */
    emitReady(): void {
      ready = true;
      this.emit('ready');
      resolveReady();
    }
    /** A second launch of the app, as the first instance sees it. */
    emitSecondInstance(argv: string[] = []): void {
      this.emit('second-instance', new StandInEvent(), argv, process.cwd(), {});
    }
  }
  const app = new StandInApp();

  class StandInBrowserWindow extends EventEmitter {
    static readonly all: StandInBrowserWindow[] = [];
    static getAllWindows(): StandInBrowserWindow[] {
      return StandInBrowserWindow.all.filter((w) => !w.isDestroyed());
    }
    readonly options: Record<string, unknown>;
    readonly webContents = new StandInWebContents();
    readonly loadedUrls: string[] = [];
    visible = false;
    minimized = false;
    focused = false;
    #destroyed = false;
    constructor(windowOptions: Record<string, unknown>) {
      super();
      this.options = windowOptions;
      this.visible = windowOptions.show !== false;
      StandInBrowserWindow.all.push(this);
      app.emit('web-contents-created', new StandInEvent(), this.webContents);
    }
    loadURL(url: string): Promise<void> {
      this.loadedUrls.push(url);
      this.webContents.mainFrame.url = url;
      return Promise.resolve();
    }
    show(): void {
      this.visible = true;
    }
    isVisible(): boolean {
      return this.visible;
    }
    focus(): void {
      this.focused = true;
    }
    isMinimized(): boolean {
      return this.minimized;
    }
    minimize(): void {
      this.minimized = true;
      this.focused = false;
    }
    restore(): void {
      this.minimized = false;
    }
    isDestroyed(): boolean {
      return this.#destroyed;
    }
    close(): void {
      this.#destroyed = true;
      this.webContents.destroy();
      this.emit('closed');
      if (StandInBrowserWindow.getAllWindows().length === 0) app.emit('window-all-closed');
    }
  }

  type Handler = (event: unknown, ...args: unknown[]) => unknown;
  class StandInIpcMain extends EventEmitter {
    readonly handlers = new Map<string, Handler>();
    handle(channel: string, handler: Handler): void {
      if (this.handlers.has(channel))
        throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.handlers.set(channel, handler);
    }
    removeHandler(channel: string): void {
      this.handlers.delete(channel);
    }
    /** What `ipcRenderer.invoke` does in Electron: call the handler; no handler is an error. */
    async invokeFrom(
      sender: { contents: StandInWebContents; frame: StandInFrame | null },
      channel: string,
      ...args: unknown[]
    ): Promise<unknown> {
      const handler = this.handlers.get(channel);
      if (!handler)
        throw new Error(
          `Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`,
        );
      return handler(
        { sender: sender.contents, senderFrame: sender.frame, processId: 1, frameId: 1 },
        ...args,
      );
    }
    /** What `ipcRenderer.send` does in Electron: emit on ipcMain with an event naming the sender. */
    sendFrom(
      sender: { contents: StandInWebContents; frame: StandInFrame | null },
      channel: string,
      ...args: unknown[]
    ): void {
      this.emit(
        channel,
        { sender: sender.contents, senderFrame: sender.frame, processId: 1, frameId: 1 },
        ...args,
      );
    }
  }
  const ipcMain = new StandInIpcMain();

  type ProtocolHandler = (request: Request) => Promise<Response> | Response;
  const protocol = {
    privileged: [] as unknown[],
    handlers: new Map<string, ProtocolHandler>(),
    registerSchemesAsPrivileged(schemes: unknown[]): void {
      if (ready)
        throw new Error('protocol.registerSchemesAsPrivileged must be called before the app is ready');
      calls.push('protocol.registerSchemesAsPrivileged');
      protocol.privileged.push(...schemes);
    },
    handle(scheme: string, handler: ProtocolHandler): void {
      if (!ready) throw new Error('protocol.handle must be called after the app is ready');
      protocol.handlers.set(scheme, handler);
    },
    /** A request the renderer makes for `url`: what our handler answers. */
    async fetch(url: string, init?: RequestInit): Promise<Response> {
      const scheme = new URL(url).protocol.slice(0, -1);
      const handler = protocol.handlers.get(scheme);
      if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME ${url}`);
      return handler(new Request(url, init));
    },
  };

  type PermissionRequestHandler = (
    contents: unknown,
    permission: string,
    callback: (granted: boolean) => void,
    details: unknown,
  ) => void;
  type BeforeRequest = (details: { url: string }, callback: (response: { cancel?: boolean }) => void) => void;
  type HeadersReceived = (
    details: { url: string; responseHeaders?: Record<string, string[]> },
    callback: (response: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void,
  ) => void;
  class StandInSession extends EventEmitter {
    permissionRequestHandler: PermissionRequestHandler | null = null;
    permissionCheckHandler: ((...args: unknown[]) => boolean) | null = null;
    devicePermissionHandler: ((...args: unknown[]) => boolean) | null = null;
    beforeRequest: BeforeRequest | null = null;
    headersReceived: HeadersReceived | null = null;
    readonly webRequest = {
      onBeforeRequest: (listener: BeforeRequest) => {
        this.beforeRequest = listener;
      },
      onHeadersReceived: (listener: HeadersReceived) => {
        this.headersReceived = listener;
      },
    };
    setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
      this.permissionRequestHandler = handler;
    }
    setPermissionCheckHandler(handler: ((...args: unknown[]) => boolean) | null): void {
      this.permissionCheckHandler = handler;
    }
    setDevicePermissionHandler(handler: ((...args: unknown[]) => boolean) | null): void {
      this.devicePermissionHandler = handler;
    }
    /** A page asks for a permission: Electron grants it when no handler says otherwise. */
    requestPermission(permission: string): Promise<boolean> {
      const handler = this.permissionRequestHandler;
      if (!handler) return Promise.resolve(true);
      return new Promise((resolve) =>
        handler(null, permission, resolve, { requestingUrl: 'app://chaoscope/' }),
      );
    }
    checkPermission(permission: string): boolean {
      return this.permissionCheckHandler?.(null, permission, 'app://chaoscope', {}) ?? true;
    }
    /** Whether a request for `url` would be let through (true when nothing filters requests). */
    allowsRequest(url: string): Promise<boolean> {
      const listener = this.beforeRequest;
      if (!listener) return Promise.resolve(true);
      return new Promise((resolve) => listener({ url }, (response) => resolve(response.cancel !== true)));
    }
    /** The response headers a page would see for a response that arrived with `headers`. */
    headersSeen(url: string, headers: Record<string, string[]>): Promise<Record<string, string[]>> {
      const listener = this.headersReceived;
      if (!listener) return Promise.resolve(headers);
      return new Promise((resolve) =>
        listener({ url, responseHeaders: headers }, (response) =>
          resolve(response.responseHeaders ?? headers),
        ),
      );
    }
    /** A download starts: whether it went ahead. */
    startDownload(url: string): boolean {
      const event = new StandInEvent();
      this.emit('will-download', event, { getURL: () => url, cancel: () => event.preventDefault() }, null);
      return !event.defaultPrevented;
    }
  }
  const session = { defaultSession: new StandInSession() };

  const Menu = {
    applied: null as { template: unknown[] } | null,
    buildFromTemplate(template: unknown[]): { template: unknown[] } {
      return { template };
    },
    setApplicationMenu(menu: { template: unknown[] } | null): void {
      Menu.applied = menu;
    },
  };

  const dialog = {
    /** Answers given to `showMessageBox`, in order (the index of the button "clicked"). */
    responses: [] as number[],
    shown: [] as Array<Record<string, unknown>>,
    errors: [] as Array<{ title: string; content: string }>,
    showMessageBox(...args: unknown[]): Promise<{ response: number; checkboxChecked: boolean }> {
      const options = (args.length > 1 ? args[1] : args[0]) as Record<string, unknown>;
      dialog.shown.push(options);
      const response = dialog.responses.shift();
      if (response === undefined) return Promise.reject(new Error('stand-in dialog: no scripted response'));
      return Promise.resolve({ response, checkboxChecked: false });
    },
    showErrorBox(title: string, content: string): void {
      dialog.errors.push({ title, content });
    },
  };

  const shell = {
    opened: [] as string[],
    openPath(path: string): Promise<string> {
      shell.opened.push(path);
      return Promise.resolve('');
    },
  };

  const screen = {
    getPrimaryDisplay: () => ({ workAreaSize: { width: 1920, height: 1050 } }),
  };

  // --- the renderer side, for the preload --------------------------------------------------
  const contextBridge = {
    exposed: new Map<string, unknown>(),
    exposeInMainWorld(key: string, api: unknown): void {
      if (contextBridge.exposed.has(key))
        throw new Error(`Cannot bind an API on top of an existing property on the window object`);
      contextBridge.exposed.set(key, api);
    },
  };

  /** An `ipcRenderer` for a page shown in `contents` (its main frame unless `frame` says otherwise). */
  function ipcRendererFor(contents: StandInWebContents, frame: StandInFrame | null = contents.mainFrame) {
    const sender = { contents, frame };
    const renderer = new EventEmitter();
    contents.on('stand-in:sent', (channel: string, ...args: unknown[]) =>
      renderer.emit(channel, { sender: null }, ...args),
    );
    return {
      invoke: (channel: string, ...args: unknown[]) => ipcMain.invokeFrom(sender, channel, ...args),
      send: (channel: string, ...args: unknown[]) => ipcMain.sendFrom(sender, channel, ...args),
      on: (channel: string, listener: (...args: unknown[]) => void) => {
        renderer.on(channel, listener);
        return renderer;
      },
      removeListener: (channel: string, listener: (...args: unknown[]) => void) => {
        renderer.removeListener(channel, listener);
        return renderer;
      },
      listenerCount: (channel: string) => renderer.listenerCount(channel),
    };
  }

  return {
    /** Order-sensitive calls (what must happen before `ready`). */
    calls,
    app,
    BrowserWindow: StandInBrowserWindow,
    ipcMain,
    protocol,
    session,
    Menu,
    dialog,
    shell,
    screen,
    contextBridge,
    ipcRendererFor,
  };
}

export type ElectronStandIn = ReturnType<typeof createElectronStandIn>;

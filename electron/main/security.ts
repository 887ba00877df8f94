/**
 * The Electron security checklist, in one place: the renderer's web preferences, what a session
 * allows (permissions, requests, downloads, response headers) and what any web contents may do
 * (navigate, open windows, attach webviews). Applied to every session and every web contents the
 * app creates, so a window added later cannot forget it.
 */
import type { Session, WebContents, WebPreferences } from 'electron';
import { isAppUrl } from './app-origin.ts';
import { withContentSecurityPolicy } from './content-security-policy.ts';

/** The renderer is a web page with one bridge (the preload), nothing more. */
export function secureWebPreferences(options: { preload: string; devTools: boolean }): WebPreferences {
  return {
    preload: options.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    enableBlinkFeatures: '',
    navigateOnDragDrop: false,
    // The spellchecker downloads dictionaries from a Google CDN: remote content we do not want.
    spellcheck: false,
    safeDialogs: true,
    devTools: options.devTools,
  };
}

/** Schemes the renderer may request: our own files, and the developer tools' own pages. */
const ALLOWED_SCHEMES = new Set(['devtools:', 'chrome-extension:', 'data:', 'blob:']);

/** No remote content: anything not ours (http, https, ws, file, ftp, …) is cancelled. */
export function isAllowedRequestUrl(url: string): boolean {
  if (isAppUrl(url)) return true;
  try {
    return ALLOWED_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** Something the shell refused: a line for the log, and what tests observe. */
export interface Denial {
  readonly kind: 'permission' | 'request' | 'navigation' | 'window-open' | 'download' | 'webview';
  /** The permission's name or the URL concerned. */
  readonly what: string;
}

/** Downloads the page generated itself (`blob:` of our origin, `data:`); nothing fetched from elsewhere. */
export function isOwnDownload(url: string): boolean {
  return url.startsWith('data:') || (url.startsWith('blob:') && isAppUrl(url.slice('blob:'.length)));
}

export type DenialListener = (denial: Denial) => void;

type HardenableSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'on'
> & { readonly webRequest: Pick<Session['webRequest'], 'onBeforeRequest' | 'onHeadersReceived'> };

/**
 * Deny every permission (camera, notifications, geolocation, HID, serial, …), cancel every request
 * that is not for our own origin, cancel downloads other than files the page generated itself
 * (exports), and put our CSP on every response — also on
 * responses that did not come from our protocol handler, so nothing can arrive without it.
 */
export function hardenSession(session: HardenableSession, onDenied: DenialListener = () => {}): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    onDenied({ kind: 'permission', what: permission });
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequestUrl(details.url);
    if (!allowed) onDenied({ kind: 'request', what: details.url });
    callback({ cancel: !allowed });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
  session.on('will-download', (event, item) => {
    const url = item.getURL();
    // A file the page made itself (a trace exported as OTLP JSON, a report): Electron asks where to save it.
    if (isOwnDownload(url)) return;
    onDenied({ kind: 'download', what: url });
    event.preventDefault();
  });
}

type HardenableContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/**
 * Navigation stays inside the app (a reload or an in-app link to another `app://chaoscope/` page is
 * fine); a link to anywhere else, a redirect, a frame navigating away, `window.open` and
 * `<webview>` are refused. External links are not opened in the browser either: a compromised
 * renderer must not be able to make the OS open arbitrary URLs (or files) on its behalf.
 */
export function hardenWebContents(contents: HardenableContents, onDenied: DenialListener = () => {}): void {
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url)) return;
    onDenied({ kind: 'navigation', what: event.url });
    event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (event.isMainFrame && isAppUrl(event.url)) return;
    onDenied({ kind: 'navigation', what: event.url });
    event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (isAppUrl(event.url)) return;
    onDenied({ kind: 'navigation', what: event.url });
    event.preventDefault();
  });
  contents.setWindowOpenHandler((details) => {
    onDenied({ kind: 'window-open', what: details.url });
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event, webPreferences) => {
    // Belt and braces: `webviewTag: false` already keeps the tag from existing.
    delete webPreferences.preload;
    onDenied({ kind: 'webview', what: 'webview' });
    event.preventDefault();
  });
}

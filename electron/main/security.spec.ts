/**
 * The security checklist, item by item, against a STAND-IN for the `electron` module (this machine
 * has no Electron binary; test/electron/window.e2e.spec.ts checks the real window where one exists).
 */
import type { Session, WebContents } from 'electron';
import { describe, expect, it } from 'vitest';
import { createElectronStandIn, StandInWebContents } from '../../test/support/electron-stand-in.ts';
import { CONTENT_SECURITY_POLICY, withContentSecurityPolicy } from './content-security-policy.ts';
import {
  hardenSession,
  hardenWebContents,
  isAllowedRequestUrl,
  secureWebPreferences,
  type Denial,
} from './security.ts';

function hardenedSession() {
  const standIn = createElectronStandIn();
  const session = standIn.session.defaultSession;
  const denials: Denial[] = [];
  hardenSession(session as unknown as Session, (d) => denials.push(d));
  return { session, denials };
}

function hardenedContents() {
  const contents = new StandInWebContents();
  const denials: Denial[] = [];
  hardenWebContents(contents as unknown as WebContents, (d) => denials.push(d));
  return { contents, denials };
}

describe('web preferences (stand-in electron)', () => {
  const prefs = secureWebPreferences({ preload: '/app/electron/dist/preload.cjs', devTools: false });

  it('isolate the page: context isolation, sandbox, no Node anywhere', () => {
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
    });
  });

  it('keep web security on and the risky features off', () => {
    expect(prefs).toMatchObject({
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    });
    expect(prefs.enableBlinkFeatures ?? '').toBe('');
  });

  it('load only our preload, and the developer tools only in development', () => {
    expect(prefs.preload).toBe('/app/electron/dist/preload.cjs');
    expect(prefs.devTools).toBe(false);
    expect(secureWebPreferences({ preload: '/p.cjs', devTools: true }).devTools).toBe(true);
  });
});

describe('the Content Security Policy', () => {
  it('allows only our own origin, no inline or eval script, no framing, no plugins', () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('object-src')).toBe("'none'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(directives.get('base-uri')).toBe("'none'");
    expect(directives.get('form-action')).toBe("'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it('is put on every response by the session, replacing any looser policy the response had', async () => {
    const { session } = hardenedSession();
    const seen = await session.headersSeen('app://chaoscope/index.html', {
      'content-type': ['text/html'],
      'content-security-policy': ["default-src *; script-src 'unsafe-eval'"],
      'Content-Security-Policy-Report-Only': ['default-src *'],
    });
    expect(seen['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(seen['content-type']).toEqual(['text/html']);
    const names = Object.keys(seen).map((n) => n.toLowerCase());
    expect(names.filter((n) => n.startsWith('content-security-policy'))).toEqual(['content-security-policy']);
    expect(withContentSecurityPolicy(undefined)).toEqual({
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
  });
});

describe('the session (stand-in electron)', () => {
  it.each([
    'media',
    'geolocation',
    'notifications',
    'clipboard-read',
    'midi',
    'openExternal',
    'hid',
    'serial',
    'usb',
    'fullscreen',
  ])('denies the %s permission when asked, and when checked', async (permission) => {
    const { session, denials } = hardenedSession();
    expect(await session.requestPermission(permission)).toBe(false);
    expect(session.checkPermission(permission)).toBe(false);
    expect(denials).toContainEqual({ kind: 'permission', what: permission });
  });

  it('denies device access (HID, serial, USB)', () => {
    const { session } = hardenedSession();
    expect(session.devicePermissionHandler?.({ deviceType: 'hid', origin: 'app://chaoscope' })).toBe(false);
  });

  it.each([
    'https://example.com/script.js',
    'http://127.0.0.1:8080/api/timeline',
    'ws://127.0.0.1:7788/api/v1/events',
    'file:///etc/passwd',
    'ftp://example.com/x',
    'app://elsewhere/index.html',
    'not a url',
  ])('cancels a request for remote or foreign content: %s', async (url) => {
    const { session, denials } = hardenedSession();
    expect(await session.allowsRequest(url)).toBe(false);
    expect(denials).toContainEqual({ kind: 'request', what: url });
  });

  it.each([
    'app://chaoscope/index.html',
    'app://chaoscope/assets/x.js',
    'devtools://devtools/bundled/inspector.html',
    'data:image/png;base64,AA==',
  ])('lets our own content through: %s', async (url) => {
    const { session } = hardenedSession();
    expect(await session.allowsRequest(url)).toBe(true);
    expect(isAllowedRequestUrl(url)).toBe(true);
  });

  it('cancels downloads, except files the page generated itself (exports)', () => {
    const { session, denials } = hardenedSession();
    for (const url of [
      'app://chaoscope/report.html',
      'https://example.com/x.exe',
      'blob:https://example.com/1',
      'file:///etc/passwd',
    ]) {
      expect(session.startDownload(url), url).toBe(false);
      expect(denials).toContainEqual({ kind: 'download', what: url });
    }
    expect(session.startDownload('blob:app://chaoscope/4b1c0e4e-0f5e-4d55-9a39-3b3f0a2c7d10')).toBe(true);
    expect(session.startDownload('data:application/json;base64,e30=')).toBe(true);
  });
});

describe('web contents (stand-in electron)', () => {
  it('allow navigation inside the app only', () => {
    const { contents, denials } = hardenedContents();
    expect(contents.attemptNavigation('app://chaoscope/index.html')).toBe(true);
    expect(contents.attemptNavigation('app://chaoscope/other.html')).toBe(true);
    for (const url of [
      'https://example.com/',
      'http://127.0.0.1:8080/',
      'file:///etc/passwd',
      'app://elsewhere/',
      'javascript:alert(1)',
    ]) {
      expect(contents.attemptNavigation(url), url).toBe(false);
      expect(denials).toContainEqual({ kind: 'navigation', what: url });
    }
  });

  it('deny subframes navigating anywhere, even to our origin', () => {
    const { contents } = hardenedContents();
    expect(contents.attemptNavigation('https://example.com/', { isMainFrame: false })).toBe(false);
    expect(contents.attemptNavigation('app://chaoscope/index.html', { isMainFrame: false })).toBe(false);
  });

  it('deny redirects away from the app', () => {
    const { contents } = hardenedContents();
    expect(contents.attemptRedirect('https://evil.example/')).toBe(false);
    expect(contents.attemptRedirect('app://chaoscope/index.html')).toBe(true);
  });

  it('deny window.open for every URL, ours included, and do not open it elsewhere', () => {
    const { contents, denials } = hardenedContents();
    for (const url of ['https://example.com/', 'app://chaoscope/index.html', 'about:blank']) {
      expect(contents.attemptWindowOpen(url)).toBe('deny');
      expect(denials).toContainEqual({ kind: 'window-open', what: url });
    }
  });

  it('refuse to attach a webview and strip its preload', () => {
    const { contents, denials } = hardenedContents();
    const attempt = contents.attemptAttachWebview();
    expect(attempt.allowed).toBe(false);
    expect(attempt.webPreferences.preload).toBeUndefined();
    expect(denials.map((d) => d.kind)).toContain('webview');
  });
});

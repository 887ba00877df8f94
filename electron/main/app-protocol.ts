/**
 * `app://chaoscope/…`: the renderer's files, served from one directory (`renderer/dist`) and from
 * nowhere else. Every request path is decoded, resolved and checked against the root both as a
 * path and after following symlinks, so `..`, encoded `%2e%2e`/`%2f`, backslashes, NUL bytes and
 * links pointing out of the folder are refused rather than served.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { APP_HOST, APP_SCHEME } from './app-origin.ts';
import { CONTENT_SECURITY_POLICY } from './content-security-policy.ts';

/** What `protocol.registerSchemesAsPrivileged` gets, before the app is ready. */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: {
    // A real origin with relative URLs and web storage, treated as a secure context like https.
    standard: true,
    secure: true,
    supportFetchAPI: true,
    codeCache: true,
    // Deliberately not: bypassCSP, allowServiceWorkers, corsEnabled, stream, allowExtensions.
  },
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export type Resolution =
  | { readonly ok: true; readonly path: string; readonly spaFallback: boolean }
  | { readonly ok: false; readonly status: 400 | 403 | 404; readonly reason: string };

/**
 * Where a request URL points inside `root`, before touching the disk. An extensionless path that
 * is not a file is a client-side route (the Vue router's history mode) and gets `index.html`.
 */
export function resolveAppPath(root: string, url: string): Resolution {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST)
    return { ok: false, status: 404, reason: `not served here: ${parsed.protocol}//${parsed.host}` };
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (path.includes('\0')) return { ok: false, status: 400, reason: 'NUL byte in path' };
  // A backslash is a separator on Windows; on any platform it has no business in our URLs.
  if (path.includes('\\')) return { ok: false, status: 400, reason: 'backslash in path' };
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return { ok: false, status: 403, reason: 'path traversal refused' };
  if (path.endsWith('/')) path += 'index.html';
  const absolute = resolve(root, `.${path}`);
  if (!isInside(root, absolute)) return { ok: false, status: 403, reason: 'path traversal refused' };
  return { ok: true, path: absolute, spaFallback: extname(absolute) === '' };
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export interface AppProtocolOptions {
  /** The folder served as `app://chaoscope/` (normally `renderer/dist`). */
  readonly root: string;
  /** Told about refused requests (a traversal attempt is worth a line in the log). */
  readonly onRefused?: (url: string, status: number, reason: string) => void;
}

/** The `protocol.handle('app', …)` handler: a `Request` in, a `Response` out. */
export function createAppProtocolHandler(
  options: AppProtocolOptions,
): (request: Request) => Promise<Response> {
  const refuse = (url: string, status: number, reason: string): Response => {
    options.onRefused?.(url, status, reason);
    return textResponse(status, reason);
  };
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return refuse(request.url, 405, `method ${request.method} not allowed`);
    const resolution = resolveAppPath(options.root, request.url);
    if (!resolution.ok) return refuse(request.url, resolution.status, resolution.reason);
    const realRoot = await realpath(options.root).catch(() => null);
    if (realRoot === null) return missingRendererResponse(options.root, request.method);
    const index = resolve(options.root, 'index.html');
    let lookup = await existingFile(realRoot, resolution.path);
    if (lookup === null && resolution.spaFallback) lookup = await existingFile(realRoot, index);
    if (lookup !== null && 'outside' in lookup)
      return refuse(request.url, 403, 'path traversal refused (symlink)');
    if (lookup === null) {
      if (resolution.path === index || resolution.spaFallback)
        return missingRendererResponse(options.root, request.method);
      return refuse(request.url, 404, 'not found');
    }
    const file = lookup.found;
    const body = request.method === 'HEAD' ? null : await readFile(file);
    return new Response(body, {
      status: 200,
      headers: {
        ...securityHeaders(),
        'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      },
    });
  };
}

type Lookup = { readonly found: string } | { readonly outside: true } | null;

/** The real path of a regular file inside the real root; `outside` when a link leads out. */
async function existingFile(realRoot: string, path: string): Promise<Lookup> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return null;
  }
  if (!isInside(realRoot, real)) return { outside: true };
  const info = await stat(real).catch(() => null);
  return info?.isFile() ? { found: real } : null;
}

function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
}

function textResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { ...securityHeaders(), 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

/**
 * When the dashboard has not been built, the window says so and how to fix it, instead of a
 * blank page. Static HTML, no script: the CSP holds for it as for everything else.
 */
function missingRendererResponse(root: string, method: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Chaoscope</title>
</head><body><h1>Chaoscope</h1><p>The dashboard has not been built: <code>${escapeHtml(root)}</code> has no
<code>index.html</code>.</p><p>Build it (see the README), then choose View → Reload, or start the app again.</p></body></html>`;
  return new Response(method === 'HEAD' ? null : html, {
    status: 503,
    headers: { ...securityHeaders(), 'Content-Type': 'text/html; charset=utf-8' },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

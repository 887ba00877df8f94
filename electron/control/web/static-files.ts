/**
 * The dashboard's files from renderer/dist (built by Vite), or, when it is not built, a plain page
 * saying so and how to build it. Paths are resolved inside the directory and never outside it;
 * a path without an extension is a client-side route and gets index.html.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../../renderer/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export interface StaticFile {
  readonly status: 200 | 404;
  readonly type: string;
  readonly body: Buffer;
  readonly html: boolean;
}

export async function isBuilt(distDir: string): Promise<boolean> {
  return stat(join(distDir, 'index.html')).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function staticFile(distDir: string, urlPath: string): Promise<StaticFile> {
  const root = resolve(distDir);
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    return notFound();
  }
  const relative = normalize(decoded).replace(/^([/\\])+/, '');
  const candidate = resolve(root, relative);
  if (candidate !== root && !candidate.startsWith(root + sep)) return notFound();
  const ext = extname(candidate);
  const file = ext === '' ? join(root, 'index.html') : candidate;
  try {
    const body = await readFile(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    return { status: 200, type, body, html: type.startsWith('text/html') };
  } catch {
    return notFound();
  }
}

function notFound(): StaticFile {
  return { status: 404, type: 'text/plain; charset=utf-8', body: Buffer.from('not found\n'), html: false };
}

/** No script, no inline style: it must pass the same CSP as the dashboard. */
export function notBuiltPage(distDir: string): Buffer {
  return Buffer.from(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chaoscope — dashboard not built</title></head>
<body>
<h1>Chaoscope is running; the dashboard is not built</h1>
<p>The control plane and its API work (this page answered with your access token), but there is no
dashboard at <code>${escapeHtml(distDir)}</code>.</p>
<p>Build it with <code>npm run build:renderer</code> in the Chaoscope folder,
then reload this page. Until then the command line does everything: <code>npx chaoscope --help</code>.</p>
</body>
</html>
`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SCHEME_PRIVILEGES, createAppProtocolHandler, resolveAppPath } from './app-protocol.ts';
import { CONTENT_SECURITY_POLICY } from './content-security-policy.ts';

let base: string;
let root: string;
const refused: Array<{ url: string; status: number; reason: string }> = [];
let handler: (request: Request) => Promise<Response>;
const get = (url: string, init?: RequestInit) => handler(new Request(url, init));

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'chaoscope-app-protocol-'));
  root = join(base, 'dist');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Chaoscope</title>');
  await writeFile(join(root, 'assets', 'index-abc.js'), 'console.log("hi")');
  await writeFile(join(root, 'assets', 'index-abc.css'), 'body{}');
  await writeFile(join(root, 'assets', 'a file.svg'), '<svg/>');
  // Secrets next to the served folder: what a traversal would be after.
  await writeFile(join(base, 'secret.txt'), 'TOP SECRET');
  await symlink(join(base, 'secret.txt'), join(root, 'assets', 'link-out.txt'));
  await symlink(base, join(root, 'dir-out'));
  handler = createAppProtocolHandler({
    root,
    onRefused: (url, status, reason) => refused.push({ url, status, reason }),
  });
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('the app:// scheme', () => {
  it('is registered standard and secure, without CSP bypass, CORS, or service workers', () => {
    expect(APP_SCHEME_PRIVILEGES.scheme).toBe('app');
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({
      standard: true,
      secure: true,
      supportFetchAPI: true,
    });
    const privileges: Record<string, unknown> = APP_SCHEME_PRIVILEGES.privileges;
    for (const risky of ['bypassCSP', 'corsEnabled', 'allowServiceWorkers', 'allowExtensions', 'stream'])
      expect(privileges[risky], risky).toBeUndefined();
  });
});

describe('serving renderer/dist over app://chaoscope/', () => {
  it('serves the entry page with the CSP and a content type', async () => {
    const response = await get('app://chaoscope/index.html');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>Chaoscope</title>');
  });

  it('serves / as index.html, assets with their types, and decodes percent-encoded names', async () => {
    expect(await (await get('app://chaoscope/')).text()).toContain('Chaoscope');
    const js = await get('app://chaoscope/assets/index-abc.js?v=1');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('app://chaoscope/assets/index-abc.css')).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    const svg = await get('app://chaoscope/assets/a%20file.svg');
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get('app://chaoscope/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await get('app://chaoscope/index.html', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
  });

  it('gives client-side routes the entry page and a missing asset 404', async () => {
    expect((await get('app://chaoscope/traces/abc')).status).toBe(200);
    expect(await (await get('app://chaoscope/traces/abc')).text()).toContain('Chaoscope');
    expect((await get('app://chaoscope/assets/missing.js')).status).toBe(404);
  });

  it.each([
    ['dot-dot segments', 'app://chaoscope/assets/%2e%2e/%2e%2e/secret.txt'],
    ['encoded slashes', 'app://chaoscope/..%2f..%2fsecret.txt'],
    ['encoded slash before dot-dot', 'app://chaoscope/assets%2f..%2f..%2fsecret.txt'],
    ['backslashes', 'app://chaoscope/..%5csecret.txt'],
    ['a NUL byte', 'app://chaoscope/index.html%00.js'],
    ['a symlink to a file outside', 'app://chaoscope/assets/link-out.txt'],
    ['a symlinked directory outside', 'app://chaoscope/dir-out/secret.txt'],
    ['malformed percent-encoding', 'app://chaoscope/%E0%A4%A'],
  ])('refuses path traversal through %s', async (_what, url) => {
    refused.length = 0;
    const response = await get(url);
    // 404: the URL parser itself collapsed the dot-dots, leaving a path inside the root.
    expect([400, 403, 404]).toContain(response.status);
    expect(await response.text()).not.toContain('TOP SECRET');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.url).toBe(new Request(url).url);
  });

  it('refuses other hosts of the scheme', async () => {
    const response = await get('app://elsewhere/index.html');
    expect(response.status).toBe(404);
  });

  it('never resolves a path outside the root, whatever the URL', () => {
    for (const url of [
      'app://chaoscope/../../etc/passwd',
      'app://chaoscope/%2e%2e/%2e%2e/etc/passwd',
      'app://chaoscope/a/../../b',
    ]) {
      const resolution = resolveAppPath(root, url);
      if (resolution.ok) expect(resolution.path.startsWith(`${root}/`)).toBe(true);
      else expect(resolution.status).toBe(403);
    }
  });

  it('says how to build the dashboard when renderer/dist is missing', async () => {
    const missing = createAppProtocolHandler({ root: join(base, 'not-built') });
    const response = await missing(new Request('app://chaoscope/index.html'));
    expect(response.status).toBe(503);
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const html = await response.text();
    expect(html).toContain('has not been built');
    expect(html).not.toMatch(/<script|<style|style=/);
  });
});

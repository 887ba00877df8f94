import { isIP } from 'node:net';

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** Host the cookie came from, or the Domain attribute it named. */
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  /** Epoch ms; undefined for a session cookie. */
  readonly expiresAt: number | undefined;
}

/**
 * The part of RFC 6265 an OAuth login needs: Path and Domain matching, Max-Age/Expires (and their
 * use to delete), Secure. The authorization server ties an interaction to the browser with
 * cookies scoped to particular paths, so getting paths right is what makes the login work.
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Keep what a response's Set-Cookie headers say. */
  store(requestUrl: URL, setCookieHeaders: readonly string[] | string | undefined): void {
    if (setCookieHeaders === undefined) return;
    for (const header of typeof setCookieHeaders === 'string' ? [setCookieHeaders] : setCookieHeaders) {
      const cookie = parseSetCookie(header, requestUrl, this.#now());
      if (!cookie) continue;
      const key = `${cookie.domain};${cookie.path};${cookie.name}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= this.#now()) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  /** The Cookie header for a request to this URL, or undefined when no cookie applies. */
  header(url: URL): string | undefined {
    const now = this.#now();
    const host = url.hostname.toLowerCase();
    const matching: StoredCookie[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) {
        this.#cookies.delete(key);
        continue;
      }
      if (cookie.hostOnly ? host !== cookie.domain : !domainMatches(host, cookie.domain)) continue;
      if (!pathMatches(url.pathname, cookie.path)) continue;
      if (cookie.secure && !isTrustworthy(url)) continue;
      matching.push(cookie);
    }
    if (matching.length === 0) return undefined;
    // More specific paths first, as browsers send them.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get size(): number {
    return this.#cookies.size;
  }

  clear(): void {
    this.#cookies.clear();
  }
}

function parseSetCookie(header: string, requestUrl: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (!name) return undefined;

  const host = requestUrl.hostname.toLowerCase();
  let domain = host;
  let hostOnly = true;
  let path: string | undefined;
  let secure = false;
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const raw = at < 0 ? '' : attribute.slice(at + 1).trim();
    if (key === 'path' && raw.startsWith('/')) path = raw;
    else if (key === 'secure') secure = true;
    else if (key === 'max-age' && /^-?\d+$/.test(raw)) maxAge = Number(raw);
    else if (key === 'expires') {
      const t = Date.parse(raw);
      if (!Number.isNaN(t)) expires = t;
    } else if (key === 'domain' && raw) {
      const d = raw.replace(/^\./, '').toLowerCase();
      // A cookie for another site is refused, as a browser would.
      if (!domainMatches(host, d)) return undefined;
      if (!isIP(host)) {
        domain = d;
        hostOnly = false;
      }
    }
  }
  const expiresAt = maxAge !== undefined ? now + maxAge * 1000 : expires;
  return { name, value, domain, hostOnly, path: path ?? defaultPath(requestUrl.pathname), secure, expiresAt };
}

/** RFC 6265 §5.1.4: the directory of the request path. */
export function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !isIP(host));
}

/** Secure cookies go over https, and to loopback, which browsers also treat as a secure context. */
function isTrustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}

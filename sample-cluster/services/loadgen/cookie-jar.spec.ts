import { describe, expect, it } from 'vitest';
import { CookieJar, defaultPath, pathMatches } from './cookie-jar.ts';

const u = (s: string) => new URL(s);

describe('CookieJar', () => {
  it('sends a cookie back only on the paths it was scoped to', () => {
    const jar = new CookieJar();
    jar.store(u('http://127.0.0.1:8080/oauth/auth?x=1'), [
      '_interaction=abc; path=/oauth/interaction/uid1; expires=Wed, 01 Jan 2070 00:00:00 GMT; samesite=lax; httponly',
      '_interaction_resume=def; path=/oauth/auth/uid1; samesite=lax; httponly',
      '_session=s1; path=/; httponly',
    ]);
    expect(jar.header(u('http://127.0.0.1:8080/oauth/interaction/uid1'))).toBe(
      '_interaction=abc; _session=s1',
    );
    expect(jar.header(u('http://127.0.0.1:8080/oauth/interaction/uid1/login'))).toBe(
      '_interaction=abc; _session=s1',
    );
    expect(jar.header(u('http://127.0.0.1:8080/oauth/auth/uid1'))).toBe(
      '_interaction_resume=def; _session=s1',
    );
    // A path that only shares a prefix of characters is not inside the cookie's path.
    expect(jar.header(u('http://127.0.0.1:8080/oauth/interaction/uid10'))).toBe('_session=s1');
    expect(jar.header(u('http://127.0.0.1:8080/api/timeline'))).toBe('_session=s1');
  });

  it('keeps cookies to the host that set them', () => {
    const jar = new CookieJar();
    jar.store(u('http://127.0.0.1:8080/'), 'a=1; Path=/');
    expect(jar.header(u('http://127.0.0.1:9999/'))).toBe('a=1'); // cookies ignore ports (RFC 6265 §8.5)
    expect(jar.header(u('http://localhost:8080/'))).toBeUndefined();
    jar.store(u('http://app.example.test/'), 'b=2; Domain=example.test; Path=/');
    expect(jar.header(u('http://api.example.test/'))).toBe('b=2');
    jar.store(u('http://app.example.test/'), 'c=3; Domain=other.test; Path=/');
    expect(jar.header(u('http://other.test/'))).toBeUndefined();
  });

  it('replaces a cookie of the same name and path, and deletes it on Max-Age=0 or a past Expires', () => {
    const jar = new CookieJar();
    const url = u('http://127.0.0.1/oauth/x');
    jar.store(url, ['a=1; Path=/', 'b=1; Path=/']);
    jar.store(url, 'a=2; Path=/');
    expect(jar.header(url)).toBe('a=2; b=1');
    jar.store(url, 'a=; Path=/; Max-Age=0');
    jar.store(url, 'b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(jar.header(url)).toBeUndefined();
    expect(jar.size).toBe(0);
  });

  it('lets cookies expire with time, Max-Age winning over Expires', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar({ now: () => now });
    const url = u('http://127.0.0.1/');
    jar.store(url, 'short=1; Path=/; Max-Age=10; Expires=Wed, 01 Jan 2070 00:00:00 GMT');
    jar.store(url, 'long=1; Path=/; Expires=Wed, 01 Jan 2070 00:00:00 GMT');
    expect(jar.header(url)).toBe('short=1; long=1');
    now += 11_000;
    expect(jar.header(url)).toBe('long=1');
  });

  it('uses the directory of the request path when the cookie names no path', () => {
    const jar = new CookieJar();
    jar.store(u('http://127.0.0.1/oauth/interaction/uid1'), 'x=1');
    expect(jar.header(u('http://127.0.0.1/oauth/interaction/uid2'))).toBe('x=1');
    expect(jar.header(u('http://127.0.0.1/oauth/auth'))).toBeUndefined();
    expect(defaultPath('/')).toBe('/');
    expect(defaultPath('/a')).toBe('/');
    expect(defaultPath('/a/b/c')).toBe('/a/b');
  });

  it('sends Secure cookies over https and to loopback only', () => {
    const jar = new CookieJar();
    jar.store(u('https://example.test/'), 's=1; Path=/; Secure');
    expect(jar.header(u('https://example.test/'))).toBe('s=1');
    expect(jar.header(u('http://example.test/'))).toBeUndefined();
    jar.store(u('http://127.0.0.1/'), 'l=1; Path=/; Secure');
    expect(jar.header(u('http://127.0.0.1/'))).toBe('l=1');
  });

  it('ignores malformed Set-Cookie lines', () => {
    const jar = new CookieJar();
    jar.store(u('http://127.0.0.1/'), ['novalue', '=nameless', ' ; Path=/']);
    expect(jar.size).toBe(0);
  });

  it('matches paths as RFC 6265 says', () => {
    expect(pathMatches('/a/b', '/a')).toBe(true);
    expect(pathMatches('/a/b', '/a/')).toBe(true);
    expect(pathMatches('/ab', '/a')).toBe(false);
    expect(pathMatches('/a', '/a')).toBe(true);
    expect(pathMatches('/', '/a')).toBe(false);
  });
});

/**
 * Who may talk to web mode. It listens on loopback only, but any web page the user opens can
 * still send requests to 127.0.0.1, and a DNS-rebinding page can even read the answers; so:
 * - the Host header must be 127.0.0.1:<port> or localhost:<port> (a rebinding page's Host is its
 *   own name);
 * - an Origin header, when present, must be this very origin (no other site's scripts);
 * - every request must carry the per-run token: `Authorization: Bearer`, or the HttpOnly,
 *   SameSite=Strict cookie set when the dashboard was first opened with `?token=`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_COOKIE = 'chaoscope_token';

/** 32 random bytes, base64url: the per-run access token. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface GuardVerdict {
  readonly ok: boolean;
  readonly status?: 401 | 403;
  readonly reason?: string;
}

export class WebGuard {
  readonly #tokenHash: Buffer;
  #port = 0;

  constructor(token: string) {
    this.#tokenHash = sha256(token);
  }

  get port(): number {
    return this.#port;
  }

  set port(port: number) {
    this.#port = port;
  }

  origins(): string[] {
    return [`http://127.0.0.1:${this.#port}`, `http://localhost:${this.#port}`];
  }

  /** Host and Origin: the DNS-rebinding and cross-site checks. */
  checkSite(headers: { host?: string | undefined; origin?: string | string[] | undefined }): GuardVerdict {
    const host = headers.host?.toLowerCase();
    if (!host || (host !== `127.0.0.1:${this.#port}` && host !== `localhost:${this.#port}`)) {
      return {
        ok: false,
        status: 403,
        reason: `Host "${headers.host ?? ''}" is not this server (127.0.0.1:${this.#port})`,
      };
    }
    const origin = headers.origin;
    if (origin !== undefined) {
      const value = Array.isArray(origin) ? origin[0] : origin;
      if (!value || !this.origins().includes(value.toLowerCase())) {
        return { ok: false, status: 403, reason: `Origin "${String(value)}" may not use this server` };
      }
    }
    return { ok: true };
  }

  /** The token from the Authorization header or the cookie. */
  checkToken(headers: { authorization?: string | undefined; cookie?: string | undefined }): GuardVerdict {
    const auth = headers.authorization;
    const bearer = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : undefined;
    const presented = bearer ?? cookieValue(headers.cookie, TOKEN_COOKIE);
    if (presented === undefined) return { ok: false, status: 401, reason: 'an access token is required' };
    if (!this.matches(presented)) return { ok: false, status: 401, reason: 'the access token is wrong' };
    return { ok: true };
  }

  /** Constant-time comparison (of digests, so lengths never leak either). */
  matches(presented: string): boolean {
    return timingSafeEqual(sha256(presented), this.#tokenHash);
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}

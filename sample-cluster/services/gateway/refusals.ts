/**
 * The gateway's 401 and 403 answers to users, counted by the RFC 6750 error code of the challenge
 * (invalid_token, insufficient_scope, …). The app's Auth view shows them live: a revocation or a
 * key rotation gone wrong shows here first. Admin routes are not counted (an operator's wrong
 * credential is not a user being refused).
 */
import type { FastifyInstance } from 'fastify';

export interface RefusalCounts {
  readonly since: string;
  readonly unauthorized: number;
  readonly forbidden: number;
  /** `status:error` → count, e.g. "401:invalid_token", "403:insufficient_scope", "401:none". */
  readonly byReason: Record<string, number>;
}

export class RefusalCounter {
  readonly #since = new Date().toISOString();
  #unauthorized = 0;
  #forbidden = 0;
  readonly #byReason = new Map<string, number>();

  /** Count every 401/403 the public routes answer. */
  attach(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      if (status !== 401 && status !== 403) return;
      if (request.url.startsWith('/admin')) return;
      const challenge = reply.getHeader('www-authenticate');
      const error = typeof challenge === 'string' ? /error="([a-z_]+)"/.exec(challenge)?.[1] : undefined;
      this.count(status, error ?? 'none');
    });
  }

  count(status: 401 | 403, reason: string): void {
    if (status === 401) this.#unauthorized += 1;
    else this.#forbidden += 1;
    const key = `${status}:${reason}`;
    this.#byReason.set(key, (this.#byReason.get(key) ?? 0) + 1);
  }

  snapshot(): RefusalCounts {
    return {
      since: this.#since,
      unauthorized: this.#unauthorized,
      forbidden: this.#forbidden,
      byReason: Object.fromEntries(this.#byReason),
    };
  }
}

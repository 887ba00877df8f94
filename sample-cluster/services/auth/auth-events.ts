/**
 * Auth events (issued, refreshed, revoked, refused, rotated, mode changed, certificate issued or
 * withdrawn) for people and telemetry: an event on the active span (the request that caused it),
 * a log line, a WARN log record for refusals, and a bounded in-memory list for the admin API.
 * Attributes never carry a token, a secret or a key: only ids (jti, grant, kid, serial).
 */
import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ServiceTelemetry } from '../../kit/telemetry.ts';

export const AUTH_EVENT_KINDS = [
  'issued',
  'refreshed',
  'revoked',
  'refused',
  'keys-rotated',
  'secret-rotated',
  'mode-changed',
  'certificate-issued',
  'certificate-withdrawn',
] as const;
export type AuthEventKind = (typeof AUTH_EVENT_KINDS)[number];

export interface AuthEvent {
  readonly at: string;
  readonly kind: AuthEventKind;
  readonly attributes: Record<string, string | number | boolean>;
}

const KEEP = 1_000;

export class AuthEvents {
  readonly #log: Logger;
  readonly #telemetry: ServiceTelemetry | undefined;
  readonly #recent: AuthEvent[] = [];

  constructor(log: Logger, telemetry: ServiceTelemetry | undefined) {
    this.#log = log.child({ component: 'auth-events' });
    this.#telemetry = telemetry;
  }

  record(kind: AuthEventKind, attributes: Record<string, string | number | boolean | undefined>): void {
    const clean: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) clean[key] = value;
    const event: AuthEvent = { at: new Date().toISOString(), kind, attributes: clean };
    this.#recent.push(event);
    if (this.#recent.length > KEEP) this.#recent.splice(0, this.#recent.length - KEEP);
    const prefixed = Object.fromEntries(Object.entries(clean).map(([k, v]) => [`auth.${k}`, v]));
    const span = trace.getActiveSpan();
    if (span?.isRecording()) span.addEvent(`auth.${kind}`, prefixed);
    if (kind === 'refused')
      this.#telemetry?.log('WARN', `auth refused: ${String(clean.reason ?? 'unknown')}`, {
        'event.name': 'auth.refused',
        ...prefixed,
      });
    this.#log.info({ event: kind, ...clean }, `auth ${kind}`);
  }

  list(limit = 100, kind?: AuthEventKind): AuthEvent[] {
    const events = kind ? this.#recent.filter((e) => e.kind === kind) : this.#recent;
    return events.slice(-limit).reverse();
  }
}

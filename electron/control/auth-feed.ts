/**
 * Auth happenings onto the `auth.event` topic while someone listens (one round per watcher tick):
 * auth's own events (issued, refreshed, revoked, refused, rotations, mode changes, certificates)
 * as they appear in its admin API, and bursts of 401/403 answers at the gateway. The first round
 * only marks where the feed starts: clients ask `auth.events` for what came before.
 */
import type { EventPayload } from '../api/events.ts';
import type { AuthEventInfo } from '../../sample-cluster/runtime/auth-admin.ts';
import { authAdminOf } from './cluster-chaos.ts';
import type { ControlContext } from './context.ts';
import { gatewayRefusals } from './handlers/auth.ts';

/** Events read per round; under heavy load some "issued" ones may pass unseen, never a revocation burst. */
const READ = 200;

export class AuthEventFeed {
  readonly #ctx: ControlContext;
  /** The newest event time published, and the events at exactly that time (to skip next round). */
  #mark: { at: string; keys: Set<string> } | undefined;
  #clusterId: string | undefined;
  /** Per gateway instance: its 401/403 counts at the last round. */
  readonly #refusals = new Map<string, { unauthorized: number; forbidden: number }>();

  constructor(ctx: ControlContext) {
    this.#ctx = ctx;
  }

  /** Forget the marks: the next round starts afresh (a new subscriber session). */
  reset(): void {
    this.#mark = undefined;
    this.#refusals.clear();
  }

  async round(): Promise<void> {
    const found = await this.#ctx.cluster.find();
    if (!found) return;
    if (found.status.clusterId !== this.#clusterId) {
      this.#clusterId = found.status.clusterId;
      this.reset();
    }
    await Promise.all([this.#events(), this.#gatewayRefusals()]);
  }

  async #events(): Promise<void> {
    const events = await (await authAdminOf(this.#ctx.cluster)).events({ limit: READ });
    const key = (e: AuthEventInfo) => `${e.kind}|${JSON.stringify(e.attributes)}`;
    const mark = this.#mark;
    const fresh = events
      .filter((e) => !mark || e.at > mark.at || (e.at === mark.at && !mark.keys.has(key(e))))
      .reverse(); // oldest first
    const newest = events[0];
    if (newest) {
      const atNewest = events.filter((e) => e.at === newest.at).map(key);
      this.#mark =
        mark && mark.at === newest.at
          ? { at: newest.at, keys: new Set([...mark.keys, ...atNewest]) }
          : { at: newest.at, keys: new Set(atNewest) };
    } else this.#mark ??= { at: '', keys: new Set() };
    if (!mark) return;
    for (const event of fresh) this.#ctx.bus.publish('auth.event', toApiEvent(event));
  }

  async #gatewayRefusals(): Promise<void> {
    const { runtime, status } = await this.#ctx.cluster.require();
    const gateways = (await this.#ctx.cluster.running(status, 'gateway')).filter(
      (g) => !this.#ctx.pauses.isPaused(g.instance.id),
    );
    if (gateways.length === 0) return;
    const token = await runtime.adminToken();
    for (const gateway of gateways) {
      const now = await gatewayRefusals(gateway.instance.address, token).catch(() => undefined);
      if (!now) continue;
      const before = this.#refusals.get(gateway.instance.id);
      this.#refusals.set(gateway.instance.id, now);
      if (!before) continue;
      const s401 = now.unauthorized - before.unauthorized;
      const s403 = now.forbidden - before.forbidden;
      if (s401 <= 0 && s403 <= 0) continue;
      this.#ctx.bus.publish('auth.event', {
        kind: 'refusals',
        at: new Date().toISOString(),
        service: 'gateway',
        message: `gateway answered ${[s401 > 0 && `${s401} × 401`, s403 > 0 && `${s403} × 403`].filter(Boolean).join(' and ')}`,
        attributes: { instanceId: gateway.instance.id, unauthorized: s401, forbidden: s403 },
      });
    }
  }
}

/** Auth's event as the app shows it: a sentence, never a secret (auth's attributes hold ids only). */
export function toApiEvent(event: AuthEventInfo): EventPayload<'auth.event'> {
  const a = event.attributes;
  const s = (k: string) => (a[k] === undefined ? '' : String(a[k]));
  let message: string;
  switch (event.kind) {
    case 'issued':
      message = `issued tokens${a.client !== undefined ? ` to ${s('client')}` : ''}${a.grantType ? ` (${s('grantType')})` : ''}`;
      break;
    case 'refreshed':
      message = `refreshed${a.sub !== undefined ? ` for ${s('sub')}` : ''}`;
      break;
    case 'revoked':
      message =
        a.what === 'user'
          ? `revoked everything of ${s('sub')}: ${s('grants')} grant(s), ${s('accessTokens')} access token(s)`
          : a.what === 'grant'
            ? `revoked grant ${s('grant')} and ${s('accessTokens')} access token(s)`
            : `revoked ${s('what') || 'a token'}${a.jti !== undefined ? ` ${s('jti')}` : ''}`;
      if (a.reason !== undefined) message += ` (${s('reason')})`;
      break;
    case 'refused':
      message = `refused: ${s('reason') || 'no reason given'}`;
      break;
    case 'keys-rotated':
      message = `signing keys rotated; new key ${s('kid')}`;
      break;
    case 'secret-rotated':
      message = `shared secret rotated; new version ${s('kid')}`;
      break;
    case 'mode-changed':
      message = `service-to-service auth mode ${s('from')} → ${s('to')}`;
      break;
    case 'certificate-issued':
      message = `certificate issued to ${s('service') || s('instanceId') || 'a service'}${a.serial !== undefined ? ` (${s('serial')})` : ''}`;
      break;
    case 'certificate-withdrawn':
      message = `certificate(s) of ${s('services')} ${s('reason') || 'withdrawn'}`;
      break;
    default:
      message = event.kind;
  }
  return { kind: event.kind, at: event.at, service: 'auth', message, attributes: { ...a } };
}

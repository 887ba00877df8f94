/**
 * The handlers of the auth commands (electron/api/auth-commands.ts): auth's admin API, each
 * trusted instance's trust routes and the gateway's revocation check, for the app and the CLI.
 *
 * Faults (revoking a user, rotating keys or the shared secret, switching the mode, withdrawing a
 * certificate) go through the chaos engine, so they are journalled, listed in history and marked
 * on charts; the answer adds what auth itself reported (read back from auth's event list, because
 * the engine's ports keep no results). Revoking one token, jti or grant, and a certificate revoke
 * with a hold, go to auth directly (see `directMarker`): the fault model cannot express them
 * without storing a token value in the chaos history.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { z } from 'zod';
import type { AUTH_COMMANDS, CertificateInfo } from '../../api/auth-commands.ts';
import { TRUSTED_SERVICES } from '../../api/auth-commands.ts';
import type { ChaosFaultInput } from '../../api/chaos.ts';
import { ApiError } from '../../api/errors.ts';
import type { ServiceName } from '../../api/schemas.ts';
import { AdminError, isAdminError } from '../../../sample-cluster/runtime/admin-client.ts';
import type {
  AuthAdminClient,
  AuthEventInfo,
  AuthStatus,
  CertificateInfo as AuthCertificate,
  InstanceTrustStatus,
} from '../../../sample-cluster/runtime/auth-admin.ts';
import { authAdminOf } from '../cluster-chaos.ts';
import type { RunningInstance } from '../cluster-access.ts';
import type { ControlContext } from '../context.ts';
import type { Handlers } from '../dispatcher.ts';
import { toRecordInfo, chaosError } from './engine.ts';
import { onEach } from './chaos.ts';

/** How long a withdrawn certificate counts as a fault before the engine makes sure of a renewal. */
const CERTIFICATE_FAULT_MS = 15_000;
/** Certificates listed at most (rotation at half-life makes many; the newest matter). */
const MAX_CERTIFICATES = 200;

const refusalsSchema = z.object({
  unauthorized: z.number(),
  forbidden: z.number(),
  byReason: z.record(z.string(), z.number()),
});
type GatewayRefusals = z.infer<typeof refusalsSchema>;

/** The gateway's 401/403 counts (sample-cluster/services/gateway/refusals.ts). */
export async function gatewayRefusals(address: string, token: string): Promise<GatewayRefusals> {
  let response;
  try {
    response = await request(`http://${address}/admin/refusals`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    throw new AdminError('unreachable', `${address} did not answer GET /admin/refusals`, { cause: error });
  }
  const body: unknown = await response.body.json().catch(() => undefined);
  if (response.statusCode === 404) throw new AdminError('not-found', 'the gateway counts no refusals');
  if (response.statusCode >= 400) throw new AdminError('failed', `answered ${response.statusCode}`);
  const parsed = refusalsSchema.safeParse(body);
  if (!parsed.success) throw new AdminError('failed', 'unexpected answer to GET /admin/refusals');
  return parsed.data;
}

const TRUSTED = new Set<string>(TRUSTED_SERVICES);

export function authHandlers(ctx: ControlContext): Pick<Handlers, keyof typeof AUTH_COMMANDS> {
  /** Auth's admin client, or a clear error when there is no cluster or no auth. */
  const admin = async (): Promise<AuthAdminClient> => {
    try {
      return await authAdminOf(ctx.cluster);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError('UNAVAILABLE', error instanceof Error ? error.message : String(error));
    }
  };

  /** Running, unpaused instances of the trusted services (or of one). */
  const trusted = async (service?: ServiceName) => {
    const { runtime, status } = await ctx.cluster.require();
    const all = (await ctx.cluster.running(status, service)).filter((r) => TRUSTED.has(r.service));
    const paused = all.filter((r) => ctx.pauses.isPaused(r.instance.id));
    return {
      runtime,
      targets: all.filter((r) => !ctx.pauses.isPaused(r.instance.id)),
      paused: paused.map((r) => ({ instanceId: r.instance.id, reason: 'paused' })),
    };
  };

  /** Through the chaos engine; a failed fault is an error with the engine's reason. */
  const applyFault = async (fault: ChaosFaultInput) => {
    let record;
    try {
      record = await ctx.chaos.apply(fault);
    } catch (error) {
      throw chaosError(error);
    }
    if (record.state === 'failed') throw new ApiError('FAILED', record.error ?? 'the change failed');
    return toRecordInfo(record);
  };

  /**
   * A change made on auth directly still gets its marker on every chart (and in the stored
   * telemetry), like the engine's faults.
   */
  const directMarker = (description: string, services: ServiceName[]) => {
    const marker = {
      at: new Date().toISOString(),
      phase: 'applied' as const,
      faultId: `auth-${randomUUID()}`,
      description,
      services,
    };
    ctx.bus.publish('chaos.marker', marker);
    void ctx.telemetry.recordMarker(marker).catch(() => undefined);
  };

  /** Auth's newest event of `kind` at or after `since` that `match` accepts. */
  const reported = async (
    client: AuthAdminClient,
    kind: string,
    since: string,
    match: (e: AuthEventInfo) => boolean = () => true,
  ): Promise<AuthEventInfo | undefined> => {
    const events = await client.events({ kind, limit: 50 }).catch(() => []);
    // Auth and the control plane share a clock (same machine, or containers on it); a second of slack.
    const from = Date.parse(since) - 1_000;
    return events.find((e) => Date.parse(e.at) >= from && match(e));
  };

  const certificatesOf = async (
    client: AuthAdminClient,
    service: ServiceName | undefined,
    inUse: ReadonlySet<string>,
  ): Promise<CertificateInfo[]> => {
    const now = Date.now();
    return (await client.certificates(service ? { service } : {}))
      .map((c: AuthCertificate) => ({
        ...c,
        expiresInSeconds: Math.round((Date.parse(c.notAfter) - now) / 1000),
        inUse: inUse.has(c.serial),
      }))
      .sort(
        (a, b) =>
          Number(b.inUse) - Number(a.inUse) ||
          Number(b.state === 'valid') - Number(a.state === 'valid') ||
          Date.parse(b.notBefore) - Date.parse(a.notBefore),
      )
      .slice(0, MAX_CERTIFICATES);
  };

  const serialsInUse = async (client: AuthAdminClient, targets: readonly RunningInstance[]) => {
    const { results } = await onEach(targets, (t) => client.trustStatus(t.instance.address));
    return presentedSerials(results);
  };

  /** A rotation through the engine, then what auth reported of it and its status after it. */
  const rotate = async (action: 'rotate-keys' | 'rotate-secret', reportedAs: string) => {
    const client = await admin();
    const fault = await applyFault({ type: 'auth', change: { action } });
    const [event, status] = await Promise.all([
      reported(client, reportedAs, fault.startedAt),
      client.status(),
    ]);
    const kid = typeof event?.attributes.kid === 'string' ? event.attributes.kid : undefined;
    return { fault, kid, status };
  };

  const activeFaults = (action: string, service?: ServiceName) =>
    ctx.chaos
      .active()
      .filter(
        (r) =>
          r.fault.type === 'auth' &&
          r.fault.change.action === action &&
          (service === undefined || r.fault.target?.service === service),
      )
      .reverse();

  return {
    async 'auth.status'() {
      const client = await admin();
      const { runtime, targets, paused } = await trusted();
      const token = await runtime.adminToken();
      const gateways = targets.filter((t) => t.service === 'gateway');
      const [status, trust, revocation, refusals] = await Promise.all([
        client.status(),
        onEach(targets, (t) => client.trustStatus(t.instance.address)),
        onEach(gateways, (t) => client.revocationStats(t.instance.address)),
        onEach(gateways, (t) => gatewayRefusals(t.instance.address, token)),
      ]);
      const certificates = await certificatesOf(client, undefined, presentedSerials(trust.results));
      const now = Date.now();
      const newest = currentKid(status.signingKeys);
      const seen = new Set<string>();
      const unreachable = [
        ...paused,
        ...trust.unreachable,
        ...revocation.unreachable,
        ...refusals.unreachable,
      ]
        // One line per instance: the same outage shows in every call to it.
        .filter((u) => !seen.has(u.instanceId) && seen.add(u.instanceId));
      return {
        mode: status.mode,
        previousMode: status.previousMode,
        modeChangedAt: status.modeChangedAt,
        signingKeys: status.signingKeys.map((k) => ({
          ...k,
          ageSeconds: Math.max(0, Math.round((now - Date.parse(k.createdAt)) / 1000)),
          current: k.kid === newest,
        })),
        secrets: status.secrets,
        certificates,
        revokedCertificates: status.revokedCertificates,
        subscribers: status.subscribers.streams.length + status.subscribers.local,
        instances: trust.results.map(({ target, value }) => ({
          service: target.service,
          instanceId: target.instance.id,
          mode: value.mode,
          streamConnected: value.streamConnected,
          certificate: value.certificate,
          refused: value.refused,
          rotations: value.rotations,
        })),
        revocation: revocation.results.map(({ target, value }) => ({
          instanceId: target.instance.id,
          ...value,
        })),
        refusals: {
          users: userRefusals(refusals.results.map((r) => r.value)),
          services: serviceRefusals(trust.results.map((r) => r.value)),
        },
        unreachable,
        at: new Date(now).toISOString(),
      };
    },

    async 'auth.grants'({ user }) {
      return { grants: await (await admin()).grants(user ? { account: user } : {}) };
    },

    async 'auth.tokens'({ user, limit }) {
      return { tokens: await (await admin()).tokens({ ...(user ? { account: user } : {}), limit }) };
    },

    async 'auth.revoke'(input) {
      const client = await admin();
      if ('user' in input) {
        const fault = await applyFault({
          type: 'auth',
          change: { action: 'revoke-user', user: input.user },
          label: `revoke everything of ${input.user}`,
        });
        const event = await reported(
          client,
          'revoked',
          fault.startedAt,
          (e) => e.attributes.what === 'user' && e.attributes.sub === input.user,
        );
        const count = (v: unknown) => (typeof v === 'number' ? v : null);
        return {
          fault,
          auth: {
            revoked: 'user' as const,
            user: input.user,
            grants: count(event?.attributes.grants),
            accessTokens: count(event?.attributes.accessTokens),
          },
        };
      }
      // One token, jti or grant: straight to auth (a token value must not land in chaos history).
      const result = await client.revoke(input).catch((error: unknown) => {
        if (isAdminError(error, 'not-found') || isAdminError(error, 'bad-request'))
          throw new ApiError(
            isAdminError(error, 'not-found') ? 'NOT_FOUND' : 'BAD_REQUEST',
            (error as Error).message,
          );
        throw error;
      });
      directMarker(
        result.revoked === 'grant'
          ? `revoke grant ${result.grant}`
          : result.revoked === 'access_token'
            ? `revoke access token ${result.jti}`
            : `revoke everything of ${result.user}`,
        ['auth', 'gateway'],
      );
      return { fault: null, auth: result };
    },

    async 'auth.rotateKeys'() {
      const { fault, kid, status } = await rotate('rotate-keys', 'keys-rotated');
      return {
        fault,
        auth: {
          kid: kid ?? currentKid(status.signingKeys) ?? '',
          published: status.signingKeys.map((k) => k.kid),
        },
      };
    },

    async 'auth.rotateSecret'() {
      const { fault, kid, status } = await rotate('rotate-secret', 'secret-rotated');
      const newest = [...status.secrets].sort((a, b) => Date.parse(b.signFrom) - Date.parse(a.signFrom))[0];
      return { fault, auth: { kid: kid ?? newest?.kid ?? '', secrets: status.secrets } };
    },

    async 'auth.mode'({ mode }) {
      const client = await admin();
      const now = await client.mode();
      if (now.mode === mode) throw new ApiError('CONFLICT', `the auth mode is ${mode} already`);
      // Switching back to where the latest switch came from is that switch's rollback: the
      // engine then holds no stale "switch back" for a later reset.
      const latest = activeFaults('auth-mode')[0];
      let fault;
      if (
        latest &&
        latest.fault.type === 'auth' &&
        latest.fault.change.action === 'auth-mode' &&
        latest.fault.change.mode === now.mode &&
        now.previousMode === mode
      ) {
        fault = toRecordInfo(await ctx.chaos.rollback(latest.id, `switched back to ${mode}`));
        if (fault.state === 'failed') throw new ApiError('FAILED', fault.undoErrors.join('; '));
      } else {
        fault = await applyFault({ type: 'auth', change: { action: 'auth-mode', mode } });
      }
      const after = await client.mode();
      return {
        fault,
        auth: { mode: after.mode, previousMode: after.previousMode ?? now.mode },
      };
    },

    async 'auth.certificate'({ service, action, holdSeconds }) {
      const client = await admin();
      const { targets } = await trusted(service);
      if (targets.length === 0) throw new ApiError('CONFLICT', `${service} is not running`);
      let fault = null;
      let serials: string[];
      if (action === 'renew') {
        // A renewal ends the faults that withdrew this service's certificates (their undo renews).
        const open = [
          ...activeFaults('revoke-certificate', service),
          ...activeFaults('expire-certificate', service),
        ];
        for (const record of open) {
          const ended = toRecordInfo(await ctx.chaos.rollback(record.id, 'renewed on request'));
          fault ??= ended;
        }
        const { results, unreachable } = await onEach(targets, (t) =>
          client.renewCertificate(t.instance.address),
        );
        if (results.length === 0)
          throw new ApiError(
            'UNAVAILABLE',
            unreachable.map((u) => `${u.instanceId}: ${u.reason}`).join('; '),
          );
        serials = results.flatMap((r) => (r.value.certificate ? [r.value.certificate.serial] : []));
      } else if (holdSeconds !== undefined) {
        serials = await client.revokeCertificate({ service, holdSeconds }).catch((error: unknown) => {
          if (isAdminError(error, 'not-found'))
            throw new ApiError('CONFLICT', `${service} holds no valid certificate to revoke`);
          throw error;
        });
        directMarker(`revoke-certificate of ${service}, no new one for ${holdSeconds} s`, [service]);
      } else {
        const before = new Set(
          (await client.certificates({ service })).filter((c) => c.state === 'valid').map((c) => c.serial),
        );
        if (before.size === 0)
          throw new ApiError('CONFLICT', `${service} holds no valid certificate to ${action}`);
        fault = await applyFault({
          type: 'auth',
          // Auth withdraws every certificate of the service at once; the engine's undo renews
          // the first instance's, the others enroll again by themselves.
          target: { service, pick: 'one', instance: targets[0]!.instance.id },
          change: { action: action === 'revoke' ? 'revoke-certificate' : 'expire-certificate' },
          durationMs: CERTIFICATE_FAULT_MS,
        });
        const withdrawn = (await client.certificates({ service })).filter(
          (c) => before.has(c.serial) && c.state !== 'valid',
        );
        serials = withdrawn.map((c) => c.serial);
      }
      const certificates = await certificatesOf(client, service, await serialsInUse(client, targets));
      return { fault, auth: { action, service, serials, certificates } };
    },

    async 'auth.events'({ limit, kind }) {
      return { events: await (await admin()).events({ limit, ...(kind ? { kind } : {}) }) };
    },
  };
}

/** The key that signs new tokens: the newest one not retired. */
function currentKid(keys: AuthStatus['signingKeys']): string | undefined {
  return keys
    .filter((k) => k.retiredAt === null)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0]?.kid;
}

/** Serials of the certificates the instances present right now. */
function presentedSerials(results: readonly { value: InstanceTrustStatus }[]): Set<string> {
  return new Set(results.flatMap((r) => (r.value.certificate ? [r.value.certificate.serial] : [])));
}

function addCounts(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(counts)) into[key] = (into[key] ?? 0) + n;
}

/** 401s and 403s to users, over every gateway instance. */
function userRefusals(gateways: readonly GatewayRefusals[]): GatewayRefusals {
  const users = { unauthorized: 0, forbidden: 0, byReason: {} as Record<string, number> };
  for (const g of gateways) {
    users.unauthorized += g.unauthorized;
    users.forbidden += g.forbidden;
    addCounts(users.byReason, g.byReason);
  }
  return users;
}

/** Service calls refused, over every trusted instance. */
function serviceRefusals(instances: readonly InstanceTrustStatus[]): {
  total: number;
  byReason: Record<string, number>;
} {
  const services = { total: 0, byReason: {} as Record<string, number> };
  for (const i of instances) {
    for (const n of Object.values(i.refused)) services.total += n;
    addCounts(services.byReason, i.refused);
  }
  return services;
}

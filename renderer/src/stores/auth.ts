/**
 * Trust in the running cluster for the Auth view: `auth.status` (mode, keys, certificates, the
 * gateway's revocation check and refusal counts) polled while the view is open, grants and tokens
 * on demand, and every change (revoke, rotate, mode, certificates) with its outcome as a toast.
 * Live auth events come through the event feed (telemetry store, `auth.event`); the history before
 * the page opened comes from `auth.events`.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  AuthEventInfo,
  AuthMode,
  AuthStatusInfo,
  GrantInfo,
  RevokeInput,
  TokenInfo,
} from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError, errorCode } from '../api/errors.ts';
import { pushBounded } from './ring.ts';
import { useToastStore } from './toasts.ts';

export interface RefusalSample {
  at: number;
  unauthorized: number;
  forbidden: number;
}

const SAMPLES = 90;

export const useAuthStore = defineStore('auth', () => {
  const status = shallowRef<AuthStatusInfo | null>(null);
  const grants = shallowRef<GrantInfo[]>([]);
  const tokens = shallowRef<TokenInfo[]>([]);
  const history = shallowRef<AuthEventInfo[]>([]);
  /** Refusals per second between two status polls (for the sparklines). */
  const rate401 = ref<number[]>([]);
  const rate403 = ref<number[]>([]);
  const error = ref<string | null>(null);
  const unavailable = ref(false);
  /** The action in flight, by key ("mode", "rotate-keys", "revoke:alice", "cert:timeline:expire"). */
  const pending = ref<Record<string, true>>({});
  let previous: RefusalSample | null = null;

  const currentKey = computed(() => status.value?.signingKeys.find((k) => k.current) ?? null);
  const certificatesInUse = computed(() => status.value?.certificates.filter((c) => c.inUse) ?? []);
  const withdrawn = computed(
    () => status.value?.certificates.filter((c) => !c.inUse && c.state !== 'valid').slice(0, 20) ?? [],
  );

  async function refresh(): Promise<void> {
    try {
      const next = await api.auth.status();
      status.value = next;
      error.value = null;
      unavailable.value = false;
      const sample = {
        at: Date.parse(next.at),
        unauthorized: next.refusals.users.unauthorized,
        forbidden: next.refusals.users.forbidden,
      };
      if (previous && sample.unauthorized >= previous.unauthorized && sample.at > previous.at) {
        const dt = (sample.at - previous.at) / 1000;
        pushBounded(rate401.value, (sample.unauthorized - previous.unauthorized) / dt, SAMPLES);
        pushBounded(rate403.value, (sample.forbidden - previous.forbidden) / dt, SAMPLES);
      }
      previous = sample;
    } catch (e) {
      const code = errorCode(e);
      unavailable.value = code === 'NO_CLUSTER' || code === 'UNAVAILABLE';
      error.value = unavailable.value ? null : describeError(e);
      if (unavailable.value) status.value = null;
    }
  }

  async function loadLists(user?: string): Promise<void> {
    try {
      const filter = user ? { user } : {};
      const [g, t] = await Promise.all([api.auth.grants(filter), api.auth.tokens({ ...filter, limit: 100 })]);
      grants.value = g.grants;
      tokens.value = t.tokens;
    } catch (e) {
      if (!['NO_CLUSTER', 'UNAVAILABLE'].includes(errorCode(e) ?? '')) error.value = describeError(e);
    }
  }

  async function loadHistory(): Promise<void> {
    try {
      history.value = (await api.auth.events({ limit: 100 })).events;
    } catch {
      history.value = [];
    }
  }

  /** Runs one change; the toast says what auth answered. False when it failed or was busy. */
  async function run(key: string, work: () => Promise<string>): Promise<boolean> {
    if (pending.value[key]) return false;
    pending.value = { ...pending.value, [key]: true };
    try {
      useToastStore().push('info', await work());
      await refresh();
      return true;
    } catch (e) {
      useToastStore().push('error', describeError(e));
      return false;
    } finally {
      const { [key]: _done, ...rest } = pending.value;
      pending.value = rest;
    }
  }

  const revoke = (target: RevokeInput, label: string) =>
    run(`revoke:${label}`, async () => {
      const { auth } = await api.auth.revoke(target);
      await loadLists();
      return auth.revoked === 'user'
        ? `Revoked everything of ${auth.user}: ${auth.grants ?? '?'} grant(s), ${auth.accessTokens ?? '?'} access token(s)`
        : auth.revoked === 'grant'
          ? `Revoked grant ${auth.grant}`
          : `Revoked access token ${auth.jti}`;
    });

  const rotateKeys = () =>
    run('rotate-keys', async () => `New signing key ${(await api.auth.rotateKeys()).auth.kid}`);

  const rotateSecret = () =>
    run('rotate-secret', async () => `New shared-secret version ${(await api.auth.rotateSecret()).auth.kid}`);

  const setMode = (mode: AuthMode) =>
    run('mode', async () => {
      const { auth } = await api.auth.mode({ mode });
      return `Auth mode ${auth.previousMode} → ${auth.mode}`;
    });

  const certificate = (service: string, action: 'revoke' | 'expire' | 'renew') =>
    run(`cert:${service}:${action}`, async () => {
      const { auth } = await api.auth.certificate({
        service: service as 'auth',
        action,
      });
      const verb = action === 'renew' ? 'renewed' : `${action}d`;
      return `${service}: ${verb} ${auth.serials.length} certificate(s)`;
    });

  return {
    status,
    grants,
    tokens,
    history,
    rate401,
    rate403,
    error,
    unavailable,
    pending,
    currentKey,
    certificatesInUse,
    withdrawn,
    refresh,
    loadLists,
    loadHistory,
    revoke,
    rotateKeys,
    rotateSecret,
    setMode,
    certificate,
  };
});

/**
 * Every breaker, patched in from `breaker.snapshot` about once a second, with a short history per
 * breaker for its sparkline and the transitions seen since the page opened.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  BreakerAction,
  BreakerInfo,
  BreakerSettings,
  BreakerState,
  EventPayload,
} from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';
import { pushBounded } from './ring.ts';
import { useToastStore } from './toasts.ts';

export type BreakerTransitionEvent = EventPayload<'breaker.transition'>;
export interface BreakerSample {
  at: number;
  rate: number;
  errorPercentage: number;
}

/** Open is worst: sorting by severity puts trouble first. */
export const STATE_SEVERITY: Record<BreakerState, number> = {
  open: 4,
  'forced-open': 3,
  'half-open': 2,
  'forced-closed': 1,
  closed: 0,
};

/** A breaker lives in one instance of its caller; the key tells them apart. */
export const breakerKey = (b: { instanceId: string; name: string }) => `${b.instanceId}/${b.name}`;

const HISTORY = 120;

export const useBreakersStore = defineStore('breakers', () => {
  const breakers = shallowRef<BreakerInfo[]>([]);
  const unreachable = ref<{ instanceId: string; reason: string }[]>([]);
  const history = shallowRef<Map<string, BreakerSample[]>>(new Map());
  const transitions = ref<BreakerTransitionEvent[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const pending = ref<Record<string, string>>({});

  const byName = computed(() => {
    const map = new Map<string, BreakerInfo[]>();
    for (const b of breakers.value) map.set(b.name, [...(map.get(b.name) ?? []), b]);
    return map;
  });
  const openCount = computed(
    () => breakers.value.filter((b) => b.state === 'open' || b.state === 'forced-open').length,
  );

  function applySnapshot(list: BreakerInfo[]): void {
    breakers.value = list;
    loaded.value = true;
    const now = Date.now();
    const next = new Map(history.value);
    for (const b of list) {
      const samples = [...(next.get(breakerKey(b)) ?? [])];
      pushBounded(samples, { at: now, rate: b.ratePerSecond, errorPercentage: b.errorPercentage }, HISTORY);
      next.set(breakerKey(b), samples);
    }
    history.value = next;
  }

  function applyTransition(t: BreakerTransitionEvent): void {
    pushBounded(transitions.value, t, 500);
  }

  async function refresh(): Promise<void> {
    try {
      const result = await api.breakers.list();
      applySnapshot(result.breakers);
      unreachable.value = result.unreachable;
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
      loaded.value = true;
    }
  }

  async function act(name: string, action: BreakerAction): Promise<void> {
    await run(name, action, async () => {
      const result = await api.breakers.act({ breaker: name, action });
      mergeReplies(result.breakers);
    });
  }

  async function configure(name: string, settings: Partial<BreakerSettings>): Promise<boolean> {
    return run(name, 'configure', async () => {
      const result = await api.breakers.configure({ breaker: name, settings });
      mergeReplies(result.breakers);
    });
  }

  /** The answer carries the breakers it touched: patch them in now, the next snapshot confirms. */
  function mergeReplies(changed: BreakerInfo[]): void {
    const keys = new Map(changed.map((b) => [breakerKey(b), b]));
    breakers.value = breakers.value.map((b) => keys.get(breakerKey(b)) ?? b);
  }

  async function run(name: string, label: string, work: () => Promise<void>): Promise<boolean> {
    if (pending.value[name]) return false;
    pending.value = { ...pending.value, [name]: label };
    try {
      await work();
      useToastStore().push('info', `Breaker ${name}: ${label}`);
      return true;
    } catch (e) {
      useToastStore().push('error', `Breaker ${name} ${label}: ${describeError(e)}`);
      return false;
    } finally {
      const { [name]: _done, ...rest } = pending.value;
      pending.value = rest;
    }
  }

  return {
    breakers,
    unreachable,
    history,
    transitions,
    loaded,
    error,
    pending,
    byName,
    openCount,
    applySnapshot,
    applyTransition,
    refresh,
    act,
    configure,
  };
});

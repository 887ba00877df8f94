/**
 * Active faults (listed once, then patched by `fault.changed`) and the history of this session:
 * every injection, removal, expiry and reset, and the container actions taken from the app.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CommandInput, EventPayload, FaultInfo, ServiceName } from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';
import { pushBounded } from './ring.ts';
import { useToastStore } from './toasts.ts';

export type FaultChange = EventPayload<'fault.changed'>;
export interface HistoryEntry {
  at: number;
  what: string;
  target: string;
  detail: string;
  kind: 'injected' | 'removed' | 'expired' | 'reset' | 'container' | 'dry-run';
}

/** A fault in a few words: "latency 300 ms ± 50", "error 503 at 50 %". */
export interface FaultLike {
  kind: string;
  probability?: number;
  route?: string;
  method?: string;
  caller?: string;
  latencyMs?: number;
  jitterMs?: number;
  status?: number;
  maxMs?: number;
  bytesPerSecond?: number;
}

export function describeFault(f: FaultLike): string {
  const p =
    f.probability !== undefined && f.probability < 1 ? ` at ${Math.round(f.probability * 100)} %` : '';
  const where = [f.method, f.route, f.caller ? `from ${f.caller}` : ''].filter(Boolean).join(' ');
  const scope = where ? ` · ${where}` : '';
  switch (f.kind) {
    case 'latency':
      return `latency ${f.latencyMs ?? 0} ms${f.jitterMs ? ` ± ${f.jitterMs}` : ''}${p}${scope}`;
    case 'error':
      return `error ${f.status ?? 503}${p}${scope}`;
    case 'abort':
      return `abort (reset)${p}${scope}`;
    case 'hang':
      return `hang up to ${Math.round((f.maxMs ?? 120_000) / 1000)} s${p}${scope}`;
    case 'bandwidth':
      return `bandwidth ${Math.round((f.bytesPerSecond ?? 0) / 1024)} KiB/s${p}${scope}`;
  }
  return `${f.kind}${p}${scope}`;
}

export const useFaultsStore = defineStore('faults', () => {
  const active = ref<FaultInfo[]>([]);
  const unreachable = ref<{ instanceId: string; reason: string }[]>([]);
  const history = ref<HistoryEntry[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const resetting = ref(false);

  const count = computed(() => active.value.length);

  async function refresh(): Promise<void> {
    try {
      const result = await api.faults.list();
      active.value = result.faults;
      unreachable.value = result.unreachable;
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    } finally {
      loaded.value = true;
    }
  }

  function applyChange(change: FaultChange): void {
    const f = change.fault;
    const key = (x: FaultInfo) => `${x.instanceId}/${x.id}`;
    if (change.change === 'injected') {
      if (!active.value.some((x) => key(x) === key(f))) active.value = [...active.value, f];
    } else {
      active.value = active.value.filter((x) => key(x) !== key(f));
    }
    record({
      at: Date.now(),
      what: change.change,
      target: f.instanceId,
      detail: describeFault(f),
      kind: change.change,
    });
  }

  function record(entry: HistoryEntry): void {
    pushBounded(history.value, entry, 500);
  }

  async function inject(input: CommandInput<'faults.inject'>): Promise<boolean> {
    try {
      const result = await api.faults.inject(input);
      if (result.dryRun) {
        const what = input.faults.map((f) => describeFault(f)).join(', ');
        record({
          at: Date.now(),
          what: 'dry run',
          target: result.targets.join(', '),
          detail: what,
          kind: 'dry-run',
        });
        useToastStore().push(
          'info',
          `Dry run: would inject ${what} into ${result.targets.join(', ') || 'no instance'}`,
        );
      } else {
        // The event confirms it; adding now keeps the table right even if the event is late.
        for (const f of result.injected) applyChange({ change: 'injected', fault: f });
        useToastStore().push('info', `Injected into ${result.targets.join(', ')}`);
      }
      return true;
    } catch (e) {
      useToastStore().push('error', `Inject into ${input.service}: ${describeError(e)}`);
      return false;
    }
  }

  async function remove(service: ServiceName, id: string): Promise<void> {
    try {
      await api.faults.remove({ service, id });
      active.value = active.value.filter((x) => !(x.service === service && x.id === id));
    } catch (e) {
      useToastStore().push('error', `Remove fault ${id}: ${describeError(e)}`);
    }
  }

  async function resetAll(): Promise<void> {
    if (resetting.value) return;
    resetting.value = true;
    try {
      const result = await api.faults.reset();
      active.value = [];
      record({
        at: Date.now(),
        what: 'reset all',
        target: 'cluster',
        detail: `${result.removed} removed`,
        kind: 'reset',
      });
      const missed = result.unreachable.map((u) => u.instanceId);
      useToastStore().push(
        missed.length ? 'warning' : 'info',
        `Reset all faults: ${result.removed} removed${missed.length ? `; unreachable: ${missed.join(', ')}` : ''}`,
      );
      await refresh();
    } catch (e) {
      useToastStore().push('error', `Reset all faults: ${describeError(e)}`);
    } finally {
      resetting.value = false;
    }
  }

  return {
    active,
    unreachable,
    history,
    loaded,
    error,
    resetting,
    count,
    refresh,
    applyChange,
    record,
    inject,
    remove,
    resetAll,
  };
});

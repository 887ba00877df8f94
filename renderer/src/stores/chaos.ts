/**
 * The chaos engine as the Chaos and Metrics views see it: active faults and history from
 * `chaos.list`, patched live by `chaos.fault`; the markers seen live (`chaos.marker`); apply,
 * dry run, rollback and "reset all". Errors are kept where they happen (the view shows them).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ChaosFaultInput, ChaosMarkerInfo, FaultRecordInfo } from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';
import { pushBounded } from './ring.ts';

export const useChaosStore = defineStore('chaos', () => {
  /** Every record known, newest first (active ones included). */
  const records = ref<FaultRecordInfo[]>([]);
  const liveMarkers = ref<ChaosMarkerInfo[]>([]);
  const error = ref<string | null>(null);
  const busy = ref(false);
  /** The last dry run's answer, for its plan lines. */
  const plan = ref<FaultRecordInfo | null>(null);

  const active = computed(() => records.value.filter((r) => r.state === 'active'));
  const history = computed(() => records.value.filter((r) => r.state !== 'active'));

  async function refresh(): Promise<void> {
    try {
      const list = await api.chaos.list({ limit: 200 });
      const byId = new Map<string, FaultRecordInfo>();
      for (const r of [...list.active, ...list.recent]) byId.set(r.id, r);
      records.value = [...byId.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    }
  }

  function applyRecord(record: FaultRecordInfo): void {
    const i = records.value.findIndex((r) => r.id === record.id);
    if (i >= 0) records.value.splice(i, 1, record);
    else records.value.unshift(record);
    if (records.value.length > 500) records.value.length = 500;
  }

  function applyMarker(marker: ChaosMarkerInfo): void {
    pushBounded(liveMarkers.value, marker, 1_000);
  }

  async function run<T>(job: () => Promise<T>): Promise<T | null> {
    busy.value = true;
    try {
      const out = await job();
      error.value = null;
      return out;
    } catch (e) {
      error.value = describeError(e);
      return null;
    } finally {
      busy.value = false;
    }
  }

  async function apply(fault: ChaosFaultInput): Promise<FaultRecordInfo | null> {
    const record = await run(() => api.chaos.apply(fault));
    if (!record) return null;
    if (record.state === 'dry-run') plan.value = record;
    else plan.value = null;
    applyRecord(record);
    if (record.state === 'failed') error.value = `${record.description}: ${record.error ?? 'failed'}`;
    return record;
  }

  async function rollback(id: string): Promise<void> {
    const record = await run(() => api.chaos.rollback({ id }));
    if (record) applyRecord(record);
  }

  async function resetAll(): Promise<void> {
    const result = await run(() => api.chaos.reset());
    for (const r of result?.rolledBack ?? []) applyRecord(r);
  }

  return {
    records,
    active,
    history,
    liveMarkers,
    error,
    busy,
    plan,
    refresh,
    applyRecord,
    applyMarker,
    apply,
    rollback,
    resetAll,
  };
});

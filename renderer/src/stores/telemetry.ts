/** Collector health (spans/s, drops), auth happenings, control-plane notices and event-feed health. */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { CollectorStatsView, EventPayload } from '../../../electron/api/index.ts';
import { pushBounded } from './ring.ts';

export type AuthEvent = EventPayload<'auth.event'>;
export type Notice = EventPayload<'control.notice'>;

export const useTelemetryStore = defineStore('telemetry', () => {
  const collector = shallowRef<CollectorStatsView | null>(null);
  const spansPerSecond = ref<number[]>([]);
  const authEvents = ref<AuthEvent[]>([]);
  const notices = ref<Notice[]>([]);
  /** Event-feed health: happenings the control plane could not send us, and sequence gaps. */
  const droppedEvents = ref(0);
  const gaps = ref(0);
  const invalidBatches = ref(0);
  const lastSeq = ref(0);

  const drops = computed(() => {
    const t = collector.value?.totals;
    if (!t) return 0;
    return t.spans.dropped + t.spans.refused + t.dataPoints.dropped + t.logRecords.dropped;
  });

  function applyCollector(stats: CollectorStatsView): void {
    collector.value = stats;
    pushBounded(spansPerSecond.value, stats.spansPerSecond, 120);
  }
  function applyAuth(event: AuthEvent): void {
    pushBounded(authEvents.value, event, 500);
  }
  function applyNotice(notice: Notice): void {
    pushBounded(notices.value, notice, 100);
  }
  function applySeq(seq: number, dropped: number): void {
    // seq restarts at 1 for every new subscription (a reconnect): only a jump forward is a gap.
    if (lastSeq.value > 0 && seq > lastSeq.value + 1) gaps.value += 1;
    lastSeq.value = seq;
    droppedEvents.value += dropped;
  }

  return {
    collector,
    spansPerSecond,
    authEvents,
    notices,
    droppedEvents,
    gaps,
    invalidBatches,
    lastSeq,
    drops,
    applyCollector,
    applyAuth,
    applyNotice,
    applySeq,
  };
});

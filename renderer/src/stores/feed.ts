/**
 * The event feed: one subscription for the whole app, each event routed to the store it patches.
 * Batches arrive about every 250 ms, so the stores change a few times a second at most.
 */
import { api } from '../api/index.ts';
import { useBreakersStore } from './breakers.ts';
import { useChaosStore } from './chaos.ts';
import { useClusterStore } from './cluster.ts';
import { useFaultsStore } from './faults.ts';
import { useLogsStore } from './logs.ts';
import { useSchedulesStore } from './schedules.ts';
import { useTelemetryStore } from './telemetry.ts';
import { useToastStore } from './toasts.ts';

let started = false;

export function startEventFeed(): void {
  if (started) return;
  started = true;
  const cluster = useClusterStore();
  const breakers = useBreakersStore();
  const faults = useFaultsStore();
  const chaos = useChaosStore();
  const logs = useLogsStore();
  const schedules = useSchedulesStore();
  const telemetry = useTelemetryStore();
  const toasts = useToastStore();

  api.onInvalidBatch((reason) => {
    telemetry.invalidBatches += 1;
    console.warn(reason);
  });
  api.onBatch((batch) => {
    telemetry.applySeq(batch.seq, batch.dropped);
    for (const event of batch.events) {
      switch (event.topic) {
        case 'cluster.status':
          cluster.applyStatus(event.data.status);
          break;
        case 'cluster.progress':
          cluster.applyProgress(event.data);
          break;
        case 'service.state':
          cluster.applyChange(event.data);
          break;
        case 'breaker.snapshot':
          breakers.applySnapshot(event.data.breakers);
          break;
        case 'breaker.transition':
          breakers.applyTransition(event.data);
          break;
        case 'fault.changed':
          faults.applyChange(event.data);
          break;
        case 'chaos.fault':
          chaos.applyRecord(event.data);
          break;
        case 'chaos.marker':
          chaos.applyMarker(event.data);
          break;
        case 'schedule.changed':
          schedules.applyChange(event.data);
          break;
        case 'schedule.removed':
          schedules.applyRemoved(event.data.id);
          break;
        case 'collector.stats':
          telemetry.applyCollector(event.data);
          break;
        case 'auth.event':
          telemetry.applyAuth(event.data);
          break;
        case 'log.line':
          logs.applyLine(event.data);
          break;
        case 'control.notice':
          telemetry.applyNotice(event.data);
          toasts.push(event.data.level, event.data.message);
          break;
      }
    }
  });
}

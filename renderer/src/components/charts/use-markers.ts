/**
 * Every marker the contract provides for a time window: breaker transitions stored with the
 * telemetry (so they survive a reload), plus what this session saw happen: faults injected,
 * removed and expired, container events (kills, restarts, pauses), revocations and other auth
 * events, breaker transitions reported live. Faults of the chaos engine are stored too
 * (`telemetry.markers`: applied and rolled back, any window) and arrive live as `chaos.marker`.
 */
import { computed, shallowRef, type Ref } from 'vue';
import { api } from '../../api/index.ts';
import { useBreakersStore } from '../../stores/breakers.ts';
import { useChaosStore } from '../../stores/chaos.ts';
import { useClusterStore } from '../../stores/cluster.ts';
import { useFaultsStore } from '../../stores/faults.ts';
import { useTelemetryStore } from '../../stores/telemetry.ts';
import { SERVICE_NAMES, type ServiceName } from '../../../../electron/api/index.ts';
import { mergeMarkers, type Marker } from './markers.ts';

const isServiceName = (s: string): s is ServiceName => (SERVICE_NAMES as readonly string[]).includes(s);

/** A marker of the chaos engine; stored and live copies share the key (fault id and phase). */
function chaosMarker(
  time: number,
  phase: string,
  faultId: string,
  description: string,
  services: readonly string[],
  reason: string | null,
): Marker {
  return {
    time,
    kind: 'fault',
    label: `${phase === 'applied' ? 'fault' : `fault ${phase}`}: ${description}`,
    detail: [services.join(', '), reason].filter(Boolean).join(' · '),
    key: `chaos:${faultId}:${phase}`,
  };
}

export function useTimelineMarkers(window: Ref<{ from: number; to: number }>, service?: Ref<string | null>) {
  const stored = shallowRef<Marker[]>([]);
  const faults = useFaultsStore();
  const cluster = useClusterStore();
  const telemetry = useTelemetryStore();
  const breakers = useBreakersStore();
  const chaos = useChaosStore();
  const chaosStored = shallowRef<Marker[]>([]);

  /** Read the stored breaker transitions again (call it when the window moves). */
  async function refresh(): Promise<void> {
    const { from, to } = window.value;
    try {
      const timeline = await api.telemetry.breakerTimeline({ from, to });
      stored.value = timeline.transitions.map((t) => ({
        time: t.time,
        kind: 'breaker' as const,
        label: `${t.breaker} ${t.from} → ${t.to}`,
        detail: [t.service, t.reason].filter(Boolean).join(': '),
        key: `breaker:${t.breaker}:${t.to}:${Math.round(t.time / 1000)}`,
      }));
    } catch {
      // No store answer: the live markers below still show.
    }
    try {
      const svc = service?.value ?? null;
      const { markers } = await api.telemetry.markers({
        from,
        to,
        ...(svc && isServiceName(svc) ? { service: svc } : {}),
      });
      chaosStored.value = markers.map((m) =>
        chaosMarker(m.time, m.phase, m.faultId, m.description, m.services, m.reason),
      );
    } catch {
      // Older control plane or no store: live chaos markers still show.
    }
  }

  const live = computed<Marker[]>(() => {
    const out: Marker[] = [];
    for (const h of faults.history) {
      if (h.kind === 'dry-run') continue;
      out.push({
        time: h.at,
        kind: 'fault',
        label: `fault ${h.what}: ${h.detail}`,
        detail: h.target,
        key: `fault:${h.at}:${h.target}:${h.what}`,
      });
    }
    for (const f of faults.active) {
      const at = Date.parse(f.createdAt);
      out.push({
        time: at,
        end: f.expiresAt ? Date.parse(f.expiresAt) : undefined,
        kind: 'fault',
        label: `fault active: ${f.kind} on ${f.service}`,
        detail: f.instanceId,
        key: `fault-active:${f.instanceId}:${f.id}`,
      });
    }
    for (const c of cluster.changes) {
      out.push({
        time: Date.parse(c.at),
        kind: 'container',
        label: `${c.instanceId} ${c.from ? `${c.from.state} → ` : ''}${c.to.state} (${c.to.health})`,
        detail: c.reason,
        key: `container:${c.instanceId}:${c.at}:${c.to.state}:${c.to.health}`,
      });
    }
    for (const a of telemetry.authEvents) {
      out.push({
        time: Date.parse(a.at),
        kind: /revo/i.test(a.kind) ? 'revocation' : 'auth',
        label: `${a.kind}: ${a.message}`,
        detail: a.service,
        key: `auth:${a.kind}:${a.at}`,
      });
    }
    for (const m of chaos.liveMarkers) {
      const svc = service?.value ?? null;
      if (svc !== null && m.services.length > 0 && !m.services.includes(svc as ServiceName)) continue;
      out.push(
        chaosMarker(Date.parse(m.at), m.phase, m.faultId, m.description, m.services, m.reason ?? null),
      );
    }
    for (const t of breakers.transitions) {
      const time = Date.parse(t.at);
      out.push({
        time,
        kind: 'breaker',
        label: `${t.breaker} ${t.from} → ${t.to}`,
        detail: `${t.instanceId}: ${t.reason}`,
        key: `breaker:${t.breaker}:${t.to}:${Math.round(time / 1000)}`,
      });
    }
    return out;
  });

  const markers = computed(() => {
    const { from, to } = window.value;
    const all = mergeMarkers(stored.value, chaosStored.value, live.value);
    const svc = service?.value ?? null;
    return all.filter(
      (m) =>
        (m.end ?? m.time) >= from &&
        m.time <= to &&
        (svc === null ||
          m.kind !== 'breaker' ||
          m.label.startsWith(`${svc}:`) ||
          m.label.includes(`:${svc} `)),
    );
  });

  return { markers, refresh };
}

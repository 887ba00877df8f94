/**
 * The cluster as the control plane sees it: status (pushed on every change), start-up progress,
 * recent instance changes, and the actions on the cluster and its services.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  ClusterStatus,
  CommandInput,
  CommandOutput,
  EventPayload,
  ProgressEvent,
  ServiceName,
} from '../../../electron/api/index.ts';
import { SERVICE_NAMES } from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError, errorCode } from '../api/errors.ts';
import { pushBounded } from './ring.ts';
import { serviceHealth, type Health } from '../model/health.ts';

export { serviceHealth, type Health };
import { useToastStore } from './toasts.ts';

export type SystemInfo = CommandOutput<'system.info'>;
export type ServiceChange = EventPayload<'service.state'>;

export const useClusterStore = defineStore('cluster', () => {
  const status = ref<ClusterStatus | null>(null);
  /** False until the first answer: "no cluster" and "not known yet" look different. */
  const loaded = ref(false);
  const system = ref<SystemInfo | null>(null);
  const busy = ref<'starting' | 'stopping' | null>(null);
  const progress = ref<ProgressEvent[]>([]);
  const expected = ref<number>(SERVICE_NAMES.length - 1);
  const lastError = ref<string | null>(null);
  const changes = ref<ServiceChange[]>([]);
  /** Service-level actions in flight, by service name: buttons show it and refuse a double click. */
  const pending = ref<Record<string, string>>({});

  const services = computed(() => status.value?.services ?? []);
  const running = computed(() => status.value !== null);
  /** The load generator answers `load.*` only while one of its instances runs. */
  const loadgenRunning = computed(() =>
    services.value.some((s) => s.name === 'loadgen' && s.instances.some((i) => i.state === 'running')),
  );
  const healthy = computed(() => services.value.filter((s) => serviceHealth(s) === 'healthy').length);
  const progressRatio = computed(() => {
    if (busy.value !== 'starting') return 0;
    const healthyIds = new Set<string>();
    const startingIds = new Set<string>();
    for (const p of progress.value) {
      if (p.type === 'service-healthy') healthyIds.add(p.instanceId);
      else if (p.type === 'service-starting') startingIds.add(p.instanceId);
    }
    const starting = [...startingIds].filter((id) => !healthyIds.has(id)).length;
    // A service half-way (started, not yet healthy) counts half: the bar moves as soon as work does.
    return Math.min(1, (healthyIds.size + 0.5 * starting) / Math.max(1, expected.value));
  });
  const progressMessage = computed(() => {
    const last = progress.value.at(-1);
    if (!last) return busy.value === 'starting' ? 'Preparing…' : '';
    switch (last.type) {
      case 'note':
        return last.message;
      case 'service-starting':
        return `Starting ${last.instanceId}…`;
      case 'service-healthy':
        return `${last.instanceId} healthy`;
      case 'service-failed':
        return `${last.instanceId} failed: ${last.reason}`;
    }
    return '';
  });

  async function refresh(): Promise<void> {
    try {
      status.value = await api.cluster.status();
      lastError.value = null;
    } catch (error) {
      if (errorCode(error) === 'NO_CLUSTER') status.value = null;
      else lastError.value = describeError(error);
    } finally {
      loaded.value = true;
    }
  }

  async function loadSystem(): Promise<void> {
    try {
      system.value = await api.system.info();
      // No cluster: say so without asking `cluster.status`, whose NO_CLUSTER answer is an HTTP error.
      if (system.value.clusterRuntime === null && !loaded.value) {
        status.value = null;
        loaded.value = true;
      } else if (!loaded.value) await refresh();
      for (const notice of system.value.notices) useToastStore().push('info', notice);
    } catch (error) {
      lastError.value = describeError(error);
    }
  }

  async function up(input: CommandInput<'cluster.up'> = {}): Promise<void> {
    if (busy.value) return;
    busy.value = 'starting';
    progress.value = [];
    lastError.value = null;
    expected.value = input.services?.length ?? SERVICE_NAMES.length - (input.loadgen ? 0 : 1);
    try {
      const result = await api.cluster.up(input);
      status.value = result;
      if (result.adopted) useToastStore().push('info', `Adopted the running cluster ${result.clusterId}`);
    } catch (error) {
      lastError.value = describeError(error);
      useToastStore().push('error', `Start failed: ${describeError(error)}`);
    } finally {
      busy.value = null;
    }
  }

  async function down(volumes = false): Promise<void> {
    if (busy.value) return;
    busy.value = 'stopping';
    lastError.value = null;
    try {
      await api.cluster.down({ volumes });
      status.value = null;
    } catch (error) {
      lastError.value = describeError(error);
      useToastStore().push('error', `Stop failed: ${describeError(error)}`);
    } finally {
      busy.value = null;
    }
  }

  /** Run a service action, mark it pending, toast the outcome; the status event updates the view. */
  async function serviceAction(
    service: ServiceName,
    label: string,
    run: () => Promise<unknown>,
  ): Promise<boolean> {
    if (pending.value[service]) return false;
    pending.value = { ...pending.value, [service]: label };
    try {
      await run();
      useToastStore().push('info', `${label}: ${service}`);
      return true;
    } catch (error) {
      useToastStore().push('error', `${label} ${service}: ${describeError(error)}`);
      return false;
    } finally {
      const { [service]: _done, ...rest } = pending.value;
      pending.value = rest;
    }
  }

  const kill = (service: ServiceName, signal = 'SIGKILL', instanceId?: string) =>
    serviceAction(service, signal === 'SIGKILL' ? 'Killed' : `Sent ${signal}`, () =>
      api.service.kill({ service, signal, ...(instanceId ? { instanceId } : {}) }),
    );
  const restart = (service: ServiceName, instanceId?: string) =>
    serviceAction(service, 'Restarted', () =>
      api.service.restart({ service, ...(instanceId ? { instanceId } : {}) }),
    );
  const start = (service: ServiceName) =>
    serviceAction(service, 'Started', () => api.service.start({ service }));
  const pause = (service: ServiceName, durationMs: number, instanceId?: string) =>
    serviceAction(service, `Paused for ${Math.round(durationMs / 1000)} s`, () =>
      api.service.pause({ service, durationMs, ...(instanceId ? { instanceId } : {}) }),
    );
  const resume = (service: ServiceName) =>
    serviceAction(service, 'Resumed', () => api.service.resume({ service }));
  const partition = (service: ServiceName, durationMs: number) =>
    serviceAction(service, `Partitioned for ${Math.round(durationMs / 1000)} s`, () =>
      api.service.partition({ service, durationMs }),
    );

  function applyStatus(next: ClusterStatus | null): void {
    status.value = next;
    loaded.value = true;
  }
  function applyProgress(event: ProgressEvent): void {
    pushBounded(progress.value, event, 200);
  }
  function applyChange(change: ServiceChange): void {
    pushBounded(changes.value, change, 300);
  }

  return {
    status,
    loaded,
    system,
    busy,
    progress,
    lastError,
    changes,
    pending,
    services,
    running,
    loadgenRunning,
    healthy,
    progressRatio,
    progressMessage,
    refresh,
    loadSystem,
    up,
    down,
    kill,
    restart,
    start,
    pause,
    resume,
    partition,
    applyStatus,
    applyProgress,
    applyChange,
  };
});

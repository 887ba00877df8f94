/** Log lines per service: the tail fetched on demand, then followed from `log.line` events. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { EventPayload, ServiceName } from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';

export interface LogLine {
  /** Unique within the page's life: a stable key for the virtual list. */
  seq: number;
  instanceId: string;
  line: string;
  at: string | null;
}

const MAX_LINES = 5_000;

export const useLogsStore = defineStore('logs', () => {
  const lines = ref<Record<string, LogLine[]>>({});
  const loading = ref(false);
  const error = ref<string | null>(null);
  let seq = 0;

  async function loadTail(service: ServiceName, count = 500): Promise<void> {
    loading.value = true;
    try {
      const result = await api.service.logs({ service, lines: count });
      const tail: LogLine[] = [];
      for (const instance of result.instances) {
        for (const line of instance.lines)
          tail.push({ seq: seq++, instanceId: instance.instanceId, line, at: null });
      }
      lines.value = { ...lines.value, [service]: tail.slice(-MAX_LINES) };
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    } finally {
      loading.value = false;
    }
  }

  function applyLine(event: EventPayload<'log.line'>): void {
    const list = lines.value[event.service] ?? (lines.value[event.service] = []);
    list.push({ seq: seq++, instanceId: event.instanceId, line: event.line, at: event.at });
    if (list.length > MAX_LINES) list.splice(0, list.length - MAX_LINES);
  }

  return { lines, loading, error, loadTail, applyLine };
});

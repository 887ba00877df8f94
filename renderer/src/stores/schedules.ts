/**
 * Schedules (repeat a fault or an experiment within a blast radius): listed once, then patched by
 * `schedule.changed` and `schedule.removed`, so a change made from the CLI shows here too. Errors
 * are kept where they happen: the create form's own, and one per schedule for its row's actions.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ScheduleInfo, ScheduleInput } from '../../../electron/api/index.ts';
import { api } from '../api/index.ts';
import { describeError } from '../api/errors.ts';

export const useSchedulesStore = defineStore('schedules', () => {
  const schedules = ref<ScheduleInfo[]>([]);
  /** Experiment names a schedule can run (built-ins and the library). */
  const experiments = ref<string[]>([]);
  const loaded = ref(false);
  const listError = ref<string | null>(null);
  const createError = ref<string | null>(null);
  const creating = ref(false);
  /** Per schedule: the last action's error, and whether an action is under way. */
  const rowErrors = ref<Record<string, string>>({});
  const pending = ref<Record<string, boolean>>({});

  async function refresh(): Promise<void> {
    try {
      const [list, xps] = await Promise.all([api.schedules.list(), api.experiments.list()]);
      schedules.value = list.schedules;
      experiments.value = xps.experiments.filter((e) => !e.problem).map((e) => e.name);
      listError.value = null;
    } catch (e) {
      listError.value = describeError(e);
    } finally {
      loaded.value = true;
    }
  }

  function applyChange(schedule: ScheduleInfo): void {
    const i = schedules.value.findIndex((s) => s.id === schedule.id);
    if (i >= 0) schedules.value.splice(i, 1, schedule);
    else schedules.value.push(schedule);
  }

  function applyRemoved(id: string): void {
    schedules.value = schedules.value.filter((s) => s.id !== id);
    delete rowErrors.value[id];
  }

  async function create(input: ScheduleInput): Promise<boolean> {
    creating.value = true;
    try {
      applyChange(await api.schedules.create(input));
      createError.value = null;
      return true;
    } catch (e) {
      createError.value = describeError(e);
      return false;
    } finally {
      creating.value = false;
    }
  }

  async function onRow(id: string, job: () => Promise<ScheduleInfo | null>): Promise<void> {
    pending.value[id] = true;
    try {
      const out = await job();
      if (out) applyChange(out);
      delete rowErrors.value[id];
    } catch (e) {
      rowErrors.value[id] = describeError(e);
    } finally {
      delete pending.value[id];
    }
  }

  const setEnabled = (id: string, enabled: boolean) => onRow(id, () => api.schedules.update({ id, enabled }));
  const runNow = (id: string) => onRow(id, () => api.schedules.run({ id }));
  const remove = (id: string) =>
    onRow(id, async () => {
      await api.schedules.remove({ id });
      applyRemoved(id);
      return null;
    });

  return {
    schedules,
    experiments,
    loaded,
    listError,
    createError,
    creating,
    rowErrors,
    pending,
    refresh,
    applyChange,
    applyRemoved,
    create,
    setEnabled,
    runNow,
    remove,
  };
});

/**
 * Run a load function now and every `intervalMs` while the component lives and the page is visible.
 * One run at a time: a slow answer never piles up requests behind it.
 */
import { onBeforeUnmount, onMounted } from 'vue';

export function usePolling(load: () => Promise<void>, intervalMs: number): { refresh: () => Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!running && document.visibilityState !== 'hidden') {
      running = true;
      try {
        await load();
      } finally {
        running = false;
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  onMounted(() => void tick());
  onBeforeUnmount(() => {
    stopped = true;
    clearTimeout(timer);
  });
  return {
    refresh: async () => {
      if (running) return;
      running = true;
      try {
        await load();
      } finally {
        running = false;
      }
    },
  };
}

/** Short messages about what just happened (an action's outcome, a notice from the control plane). */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export type ToastLevel = 'info' | 'warning' | 'error';
export interface Toast {
  id: number;
  level: ToastLevel;
  message: string;
  at: number;
}

export const useToastStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([]);
  let next = 1;

  function push(level: ToastLevel, message: string): void {
    const toast = { id: next++, level, message, at: Date.now() };
    toasts.value = [...toasts.value.slice(-4), toast];
    // Errors stay until dismissed: a failed action must not vanish before it is read.
    if (level !== 'error') setTimeout(() => dismiss(toast.id), 5_000);
  }
  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }
  return { toasts, push, dismiss };
});

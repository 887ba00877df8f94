/**
 * Light or dark: follows the OS unless the user picked one. The choice is kept in localStorage so
 * the first paint is right, and saved to the control plane's settings so other windows agree.
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { api } from '../api/index.ts';

export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'chaoscope.theme';

function stored(): ThemeChoice {
  const value = window.localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' || value === 'system' ? value : 'system';
}

export const useThemeStore = defineStore('theme', () => {
  const choice = ref<ThemeChoice>(stored());
  const media = window.matchMedia('(prefers-color-scheme: light)');
  const osLight = ref(media.matches);
  media.addEventListener('change', (e) => (osLight.value = e.matches));

  const effective = computed<'light' | 'dark'>(() =>
    choice.value === 'system' ? (osLight.value ? 'light' : 'dark') : choice.value,
  );

  watch(
    effective,
    (theme) => {
      document.documentElement.dataset.theme = theme;
    },
    { immediate: true },
  );

  function set(next: ThemeChoice, persist = true): void {
    choice.value = next;
    window.localStorage.setItem(KEY, next);
    // Best effort: the theme works without the control plane; a failure only loses the sync.
    if (persist) api.settings.set({ theme: next }).catch(() => undefined);
  }
  function toggle(): void {
    set(effective.value === 'dark' ? 'light' : 'dark');
  }
  async function loadFromSettings(): Promise<void> {
    try {
      const settings = await api.settings.get();
      if (window.localStorage.getItem(KEY) === null) set(settings.theme, false);
    } catch {
      // Settings unavailable: keep the local choice.
    }
  }
  return { choice, effective, set, toggle, loadFromSettings };
});

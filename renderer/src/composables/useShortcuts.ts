/**
 * Global keyboard shortcuts. Ignored while typing in a field, so `/` or `1` in a search box types.
 * Each view can add its own with `useShortcut` (removed when the view unmounts).
 */
import { onBeforeUnmount, onMounted } from 'vue';

export interface Shortcut {
  key: string;
  description: string;
  run: (event: KeyboardEvent) => void;
}

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function useShortcuts(shortcuts: () => readonly Shortcut[]): void {
  const onKey = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key !== 'Escape' && typing(event.target)) return;
    const match = shortcuts().find((s) => s.key === event.key);
    if (!match) return;
    event.preventDefault();
    match.run(event);
  };
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}

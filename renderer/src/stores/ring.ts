/** Append to a bounded list, dropping the oldest: live views keep a window, never everything. */
export function pushBounded<T>(list: T[], items: T | readonly T[], max: number): void {
  if (Array.isArray(items)) list.push(...(items as readonly T[]));
  else list.push(items as T);
  if (list.length > max) list.splice(0, list.length - max);
}

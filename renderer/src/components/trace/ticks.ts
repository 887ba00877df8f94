/** Tick positions for a time ruler: a 1-2-5 step giving about `target` ticks over [start, end] ms. */
export function timeTicks(start: number, end: number, target = 6): number[] {
  const span = end - start;
  if (!(span > 0)) return [start];
  const raw = span / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end + step * 1e-9; t += step) out.push(t);
  return out;
}

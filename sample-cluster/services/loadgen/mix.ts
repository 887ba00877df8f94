import { TICK_ACTIONS, type Mix, type TickAction } from './settings.ts';

/**
 * Weighted choice of what a tick does. `random` is a number in [0, 1) so tests can pin the draw;
 * an action with weight 0 is never chosen.
 */
export function pickAction(mix: Mix, random: number): TickAction {
  const total = TICK_ACTIONS.reduce((sum, action) => sum + mix[action], 0);
  if (!(total > 0)) throw new Error('the mix has no positive weight');
  let remaining = random * total;
  let last: TickAction | undefined;
  for (const action of TICK_ACTIONS) {
    const w = mix[action];
    if (w <= 0) continue;
    last = action;
    if (remaining < w) return action;
    remaining -= w;
  }
  // Only reachable through floating-point rounding at random ≈ 1.
  return last!;
}

/**
 * Markers on a time axis: every fault, breaker transition, revocation and container event drawn
 * as a vertical line over a chart (a uPlot plugin) or a trace timeline, so chaos and its effect
 * are read on one picture.
 */
import type uPlot from 'uplot';

export type MarkerKind = 'fault' | 'breaker' | 'revocation' | 'container' | 'auth';

export interface Marker {
  /** Unix ms. */
  readonly time: number;
  /** Unix ms, for something that lasts (a fault with a duration); drawn as a band. */
  readonly end?: number;
  readonly kind: MarkerKind;
  readonly label: string;
  readonly detail?: string;
  /** Marks of the same key are one thing seen twice (live event and stored record). */
  readonly key: string;
}

export const MARKER_COLORS: Record<MarkerKind, string> = {
  fault: '#ef5350',
  breaker: '#f0a030',
  revocation: '#c678dd',
  container: '#56b6c2',
  auth: '#e5c07b',
};

export const MARKER_LABELS: Record<MarkerKind, string> = {
  fault: 'fault',
  breaker: 'breaker',
  revocation: 'revocation',
  container: 'container',
  auth: 'auth',
};

/** Merge marker lists, keeping one per key, in time order. */
export function mergeMarkers(...lists: readonly (readonly Marker[])[]): Marker[] {
  const byKey = new Map<string, Marker>();
  for (const list of lists) for (const m of list) if (!byKey.has(m.key)) byKey.set(m.key, m);
  return [...byKey.values()].sort((a, b) => a.time - b.time);
}

/**
 * A uPlot plugin that draws the markers (x values in ms) and reports the ones under the cursor.
 * `getMarkers` is read at every draw so new markers show without rebuilding the chart.
 */
export function markersPlugin(
  getMarkers: () => readonly Marker[],
  onHover?: (markers: Marker[], left: number) => void,
): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const markers = getMarkers();
        if (markers.length === 0) return;
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        const [min, max] = [u.scales.x!.min!, u.scales.x!.max!];
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        for (const m of markers) {
          const end = m.end ?? m.time;
          if (end < min || m.time > max) continue;
          const color = MARKER_COLORS[m.kind];
          const x0 = Math.round(u.valToPos(m.time, 'x', true));
          if (m.end !== undefined) {
            const x1 = Math.round(u.valToPos(Math.min(end, max), 'x', true));
            ctx.fillStyle = color;
            ctx.globalAlpha = 0.08;
            ctx.fillRect(x0, top, Math.max(x1 - x0, 1), height);
          }
          ctx.globalAlpha = 0.85;
          ctx.strokeStyle = color;
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x0 + 0.5, top);
          ctx.lineTo(x0 + 0.5, top + height);
          ctx.stroke();
          // A flag at the top, so a marker stands out from the grid.
          ctx.setLineDash([]);
          ctx.globalAlpha = 1;
          ctx.fillStyle = color;
          const s = 5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x0 - s, top);
          ctx.lineTo(x0 + s, top);
          ctx.lineTo(x0, top + s * 1.4);
          ctx.closePath();
          ctx.fill();
        }
        ctx.restore();
      },
      setCursor: (u) => {
        if (!onHover) return;
        const left = u.cursor.left;
        if (left === undefined || left < 0) {
          onHover([], -1);
          return;
        }
        const near = getMarkers().filter((m) => {
          const x = u.valToPos(m.time, 'x');
          const x1 = m.end === undefined ? x : u.valToPos(m.end, 'x');
          return Math.abs(x - left) <= 6 || (m.end !== undefined && left >= x && left <= x1);
        });
        onHover(near, left);
      },
    },
  };
}

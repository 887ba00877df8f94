/**
 * Chart colours come from the app's CSS variables (the theme), read when a chart is built, so a
 * theme switch only needs a rebuild. Fallbacks keep a chart readable before the theme loads.
 */
export interface ChartTheme {
  readonly text: string;
  readonly muted: string;
  readonly grid: string;
  readonly axis: string;
  readonly error: string;
  readonly ok: string;
  readonly accent: string;
  readonly warning: string;
  readonly background: string;
  readonly font: string;
}

function cssVar(el: Element, names: readonly string[], fallback: string): string {
  const style = getComputedStyle(el);
  for (const name of names) {
    const v = style.getPropertyValue(name).trim();
    if (v !== '') return v;
  }
  return fallback;
}

export function readChartTheme(el: Element = document.documentElement): ChartTheme {
  return {
    text: cssVar(el, ['--text', '--fg', '--color-text'], '#d7dce4'),
    muted: cssVar(el, ['--text-muted', '--muted', '--color-text-muted'], '#8a93a3'),
    grid: cssVar(el, ['--chart-grid', '--border-subtle', '--border'], 'rgba(140,150,170,0.16)'),
    axis: cssVar(el, ['--chart-axis', '--border', '--border-strong'], 'rgba(140,150,170,0.35)'),
    error: cssVar(el, ['--danger', '--error', '--red', '--color-danger'], '#ef5350'),
    ok: cssVar(el, ['--accent', '--primary', '--color-accent'], '#4f9cf5'),
    accent: cssVar(el, ['--accent', '--primary', '--color-accent'], '#4f9cf5'),
    warning: cssVar(el, ['--warning', '--amber', '--color-warning'], '#f0a030'),
    background: cssVar(el, ['--bg-panel', '--surface', '--bg', '--color-bg'], '#14171d'),
    font: cssVar(el, ['--font-mono', '--mono'], 'ui-monospace, SFMono-Regular, Menlo, monospace'),
  };
}

/** Axis styling shared by every chart. */
export function axisStyle(theme: ChartTheme) {
  return {
    stroke: theme.muted,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.axis, width: 1, size: 4 },
    font: `11px ${theme.font}`,
  };
}

/** A theme colour with transparency (theme colours are #rrggbb; anything else is kept opaque). */
export function withAlpha(color: string, alpha: number): string {
  if (/^#[0-9a-f]{6}$/i.test(color)) {
    return `${color}${Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0')}`;
  }
  return color;
}

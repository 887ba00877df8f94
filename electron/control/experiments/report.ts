/**
 * The reports of a finished run, beside its JSON journal: Markdown for a pull request or a wiki,
 * and one self-contained HTML page (inline CSS, inline SVG charts of every probe's values over the
 * run with the faults as shaded bands; no script, no external asset) that opens anywhere, offline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, type FaultMarker, type RunJournal, type Sample, type StepRecord } from './journal.ts';

export interface ReportFiles {
  readonly report: string;
  readonly markdown: string;
  readonly journal: string;
}

export function writeReports(dir: string, journal: RunJournal): ReportFiles {
  const html = join(dir, 'report.html');
  const markdown = join(dir, 'report.md');
  writeFileSync(html, renderHtml(journal), { mode: 0o600 });
  writeFileSync(markdown, renderMarkdown(journal), { mode: 0o600 });
  return { report: html, markdown, journal: join(dir, JOURNAL_FILE) };
}

// --- Markdown ---------------------------------------------------------------------------------

export function renderMarkdown(j: RunJournal): string {
  const start = Date.parse(j.startedAt);
  const rel = (iso: string | null) => (iso ? `+${((Date.parse(iso) - start) / 1000).toFixed(1)} s` : '');
  const lines: string[] = [
    `# ${j.title}`,
    '',
    `**Verdict: ${(j.verdict ?? 'running').toUpperCase()}** — ${j.reason ?? 'in progress'}`,
    '',
    `- Run: \`${j.runId}\` (${j.source}) on the ${j.runtime ?? 'unknown'} runtime`,
    `- Started ${j.startedAt}, ended ${j.endedAt ?? '—'} (${duration(j)})`,
  ];
  if (j.traffic)
    lines.push(
      `- Traffic: ${j.traffic.sent} requests, ${j.traffic.ok} answered below 500, ${j.traffic.failed} failed (${Object.entries(
        j.traffic.byStatus,
      )
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')})`,
    );
  if (j.description) lines.push('', j.description);
  lines.push('', '## Faults', '');
  if (j.markers.length === 0) lines.push('None applied.');
  for (const m of j.markers)
    lines.push(
      `- ${m.description}: applied +${((m.appliedAt - start) / 1000).toFixed(1)} s, ` +
        (m.rolledBackAt
          ? `rolled back +${((m.rolledBackAt - start) / 1000).toFixed(1)} s`
          : '**still active**'),
    );
  lines.push(
    '',
    '## Steps',
    '',
    '| # | phase | step | status | at | took | detail |',
    '|---|---|---|---|---|---|---|',
  );
  for (const s of j.steps)
    lines.push(
      `| ${s.index} | ${s.phase}${s.group !== null ? ` (parallel ${s.group})` : ''} | ${md(s.title)} | ${s.status} | ${rel(
        s.startedAt,
      )} | ${s.durationMs ?? ''} ms | ${md([s.detail, s.note && `note: ${s.note}`].filter(Boolean).join(' — '))} |`,
    );
  lines.push('', `JSON journal: \`${JOURNAL_FILE}\`; charts: \`report.html\`.`, '');
  return lines.join('\n');
}

function md(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function duration(j: RunJournal): string {
  if (!j.endedAt) return 'running';
  return `${((Date.parse(j.endedAt) - Date.parse(j.startedAt)) / 1000).toFixed(1)} s`;
}

// --- HTML -------------------------------------------------------------------------------------

const VERDICT_COLOUR: Record<string, string> = {
  passed: '#1a7f37',
  failed: '#cf222e',
  aborted: '#9a6700',
  error: '#8250df',
  running: '#57606a',
};

export function renderHtml(j: RunJournal): string {
  const verdict = j.verdict ?? 'running';
  const start = Date.parse(j.startedAt);
  const end = j.endedAt ? Date.parse(j.endedAt) : Math.max(start + 1, ...j.samples.map((s) => s.at));
  const bySeries = new Map<string, Sample[]>();
  for (const s of j.samples) {
    const list = bySeries.get(s.series) ?? [];
    list.push(s);
    bySeries.set(s.series, list);
  }
  const charts = [...bySeries]
    .map(([series, samples]) => chart(series, samples, j.markers, start, end))
    .join('\n');
  const steps = j.steps.map((s) => stepRow(s, start)).join('\n');
  const faults =
    j.markers.length === 0
      ? '<p>None applied.</p>'
      : `<ul>${j.markers
          .map(
            (m, i) =>
              `<li><span class="swatch" style="background:${bandColour(i)}"></span>${esc(m.description)}: applied +${secs(
                m.appliedAt - start,
              )} s, ${m.rolledBackAt ? `rolled back +${secs(m.rolledBackAt - start)} s` : '<b>still active</b>'}</li>`,
          )
          .join('')}</ul>`;
  const traffic = j.traffic
    ? `<p>Runner traffic: ${j.traffic.sent} requests, ${j.traffic.ok} answered below 500, ${j.traffic.failed} failed (${esc(
        Object.entries(j.traffic.byStatus)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
      )}).</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(j.title)} — ${esc(verdict)}</title>
<style>
  :root { color-scheme: light dark; --fg: #1f2328; --muted: #57606a; --bg: #fff; --line: #d0d7de; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --line: #30363d; } }
  body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
  h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
  .verdict { display: inline-block; padding: .15rem .6rem; border-radius: 1rem; color: #fff; font-weight: 600; background: ${VERDICT_COLOUR[verdict]}; }
  .meta { color: var(--muted); }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  td.ok { color: #1a7f37; } td.deviated, td.failed { color: #cf222e; } td.cancelled, td.skipped { color: var(--muted); }
  figure { margin: 1rem 0; } figcaption { font-weight: 600; margin-bottom: .2rem; }
  svg text { fill: var(--muted); font-size: 11px; }
  svg .axis { stroke: var(--line); } svg .series { fill: none; stroke: #0969da; stroke-width: 1.5; }
  svg .pt-ok { fill: #0969da; } svg .pt-bad { fill: #cf222e; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .4rem; vertical-align: middle; border-radius: 2px; }
  .note { color: #9a6700; }
</style>
</head>
<body>
<h1>${esc(j.title)}</h1>
<p><span class="verdict">${esc(verdict.toUpperCase())}</span> ${esc(j.reason ?? 'in progress')}</p>
<p class="meta">Run ${esc(j.runId)} · ${esc(j.source)} · ${esc(j.runtime ?? 'unknown')} runtime · started ${esc(
    j.startedAt,
  )} · ${esc(duration(j))}</p>
${j.description ? `<p>${esc(j.description)}</p>` : ''}
${traffic}
<h2>Faults</h2>
${faults}
<h2>Probes over the run</h2>
<p class="meta">Shaded bands: faults, from applied to rolled back. Red points: the probe did not hold (or a request failed).</p>
${charts || '<p>No probe values were recorded.</p>'}
<h2>Steps</h2>
<table>
<thead><tr><th>#</th><th>phase</th><th>step</th><th>status</th><th>at</th><th>took</th><th>detail</th></tr></thead>
<tbody>
${steps}
</tbody>
</table>
</body>
</html>
`;
}

function stepRow(s: StepRecord, start: number): string {
  const detail = [
    s.detail ? esc(s.detail) : '',
    s.note ? `<div class="note">note: ${esc(s.note)}</div>` : '',
  ].join('');
  return `<tr><td>${s.index}</td><td>${esc(s.phase)}${s.group !== null ? ` (parallel ${s.group})` : ''}</td><td>${esc(
    s.title,
  )}</td><td class="${s.status}">${esc(s.status)}</td><td>+${secs(Date.parse(s.startedAt) - start)} s</td><td>${
    s.durationMs ?? ''
  } ms</td><td>${detail}</td></tr>`;
}

const W = 1000;
const H = 180;
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };

function chart(
  series: string,
  samples: Sample[],
  markers: FaultMarker[],
  start: number,
  end: number,
): string {
  const span = Math.max(1, end - start);
  const x = (t: number) => PAD.left + ((t - start) / span) * (W - PAD.left - PAD.right);
  const values = samples.map((s) => s.value).filter((v): v is number => v !== null);
  const breaker = series.startsWith('breaker') || series.startsWith('abort: breaker');
  const max = breaker ? 2 : Math.max(1, ...values) * 1.1;
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const bands = markers
    .map((m, i) => {
      const x1 = x(m.appliedAt);
      const x2 = x(m.rolledBackAt ?? end);
      return `<rect x="${x1.toFixed(1)}" y="${PAD.top}" width="${Math.max(1, x2 - x1).toFixed(1)}" height="${
        H - PAD.top - PAD.bottom
      }" fill="${bandColour(i)}" opacity="0.25"><title>${esc(m.description)}</title></rect>`;
    })
    .join('');
  const known = samples.filter((s) => s.value !== null);
  const path = known
    .map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.at).toFixed(1)},${y(s.value!).toFixed(1)}`)
    .join(' ');
  const points = samples
    .map((s) => {
      const cy = s.value === null ? H - PAD.bottom : y(s.value);
      return `<circle cx="${x(s.at).toFixed(1)}" cy="${cy.toFixed(1)}" r="${s.ok ? 2 : 3}" class="${s.ok ? 'pt-ok' : 'pt-bad'}"><title>+${secs(
        s.at - start,
      )} s: ${s.value ?? 'no value'}${s.ok ? '' : ' (did not hold)'}</title></circle>`;
    })
    .join('');
  const yTicks = breaker
    ? [
        [0, 'closed'],
        [1, 'half-open'],
        [2, 'open'],
      ]
    : [0, max / 2, max].map((v) => [v, fmt(v)]);
  const ticks = (yTicks as [number, string][])
    .map(
      ([v, label]) =>
        `<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(
          1,
        )}" stroke-dasharray="2 3"/><text x="${PAD.left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(label)}</text>`,
    )
    .join('');
  const xTicks = Array.from({ length: 6 }, (_, i) => start + (span * i) / 5)
    .map((t) => `<text x="${x(t).toFixed(1)}" y="${H - 6}" text-anchor="middle">+${secs(t - start)} s</text>`)
    .join('');
  const unit = breaker ? '' : series.includes('error rate') ? ' (%)' : ' (ms)';
  return `<figure><figcaption>${esc(series)}${unit}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(
    series,
  )}">${bands}${ticks}${xTicks}<path class="series" d="${path}"/>${points}</svg></figure>`;
}

function bandColour(i: number): string {
  return ['#bf8700', '#cf222e', '#8250df', '#0969da', '#1a7f37'][i % 5]!;
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

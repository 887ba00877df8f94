import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listExperiments, loadExperiment } from './library.ts';
import { renderHtml, renderMarkdown } from './report.ts';
import type { RunJournal } from './journal.ts';
import { ExperimentFormatError, parseExperiment } from './schema.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('experiment format', () => {
  it('reads every built-in scenario', () => {
    const list = listExperiments();
    expect(list.length).toBeGreaterThanOrEqual(7);
    expect(list.filter((e) => e.problem)).toEqual([]);
  });

  it('reads the same experiment from JSON and YAML files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-format-'));
    dirs.push(dir);
    const definition = {
      title: 'slow users',
      method: [
        {
          type: 'fault',
          fault: {
            type: 'request',
            target: { service: 'users' },
            fault: { kind: 'latency', latencyMs: 100 },
          },
        },
        { type: 'wait', ms: 1000 },
      ],
    };
    writeFileSync(join(dir, 'a.json'), JSON.stringify(definition));
    writeFileSync(
      join(dir, 'b.yaml'),
      [
        'title: slow users',
        'method:',
        '  - type: fault',
        '    fault: { type: request, target: { service: users }, fault: { kind: latency, latencyMs: 100 } }',
        '  - { type: wait, ms: 1000 }',
      ].join('\n'),
    );
    const a = loadExperiment(join(dir, 'a.json')).experiment;
    const b = loadExperiment(join(dir, 'b.yaml')).experiment;
    expect(a).toEqual(b);
    expect(a.rollbacks).toEqual([]);
  });

  it('lists every problem of a bad definition, faults checked against the engine model', () => {
    let error: unknown;
    try {
      parseExperiment({
        title: 'bad',
        users: ['reader'],
        method: [
          {
            type: 'fault',
            fault: { type: 'container', target: { service: 'nope' }, change: { action: 'kill' } },
          },
          { type: 'probe', probe: { type: 'http', path: '/api/timeline', as: 'writer' } },
          { type: 'rollback', fault: 'never-named' },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExperimentFormatError);
    const problems = (error as ExperimentFormatError).problems.join('\n');
    expect(problems).toContain('method[0].fault.target.service: unknown service "nope"');
    expect(problems).toContain('"as": "writer" names a user the experiment does not list');
    expect(problems).toContain('rollback step names a fault "never-named"');
  });

  it('refuses unknown fields and a method without steps', () => {
    expect(() => parseExperiment({ title: 't', method: [], extra: 1 })).toThrow(/method.*|extra/);
  });
});

describe('reports', () => {
  const journal: RunJournal = {
    version: 1,
    runId: '20261127-120000-abcdef',
    title: 'A <b>title</b>',
    description: 'why & how',
    source: 'definition',
    runtime: 'process',
    state: 'finished',
    pid: 1,
    startedAt: '2026-11-27T12:00:00.000Z',
    endedAt: '2026-11-27T12:00:10.000Z',
    verdict: 'failed',
    reason: 'p95 of gateway did not hold',
    steps: [
      {
        index: 0,
        phase: 'method',
        kind: 'fault',
        title: 'latency 300±0 ms in users',
        status: 'ok',
        startedAt: '2026-11-27T12:00:01.000Z',
        endedAt: '2026-11-27T12:00:01.100Z',
        durationMs: 100,
        detail: 'users-1: latency | 300 ms',
        probe: null,
        heldAfterMs: null,
        faultId: 'f1',
        note: null,
        group: null,
      },
    ],
    samples: [
      { series: 'p95 of gateway', at: Date.parse('2026-11-27T12:00:02.000Z'), value: 12, ok: true },
      { series: 'p95 of gateway', at: Date.parse('2026-11-27T12:00:05.000Z'), value: 320, ok: false },
    ],
    markers: [
      {
        faultId: 'f1',
        description: 'latency 300±0 ms in users',
        appliedAt: Date.parse('2026-11-27T12:00:01.000Z'),
        rolledBackAt: Date.parse('2026-11-27T12:00:09.000Z'),
      },
    ],
    faults: ['f1'],
    pendingRollbacks: [],
    traffic: null,
    experiment: {},
  };

  it('renders one self-contained HTML page: inline CSS and SVG, no script, nothing fetched, text escaped', () => {
    const html = renderHtml(journal);
    expect(html).toContain('<style>');
    expect(html).toContain('<svg');
    expect(html).toContain('A &lt;b&gt;title&lt;/b&gt;');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//);
    // The fault band starts 1 s into a 10 s run.
    expect(html).toMatch(/<rect x="149\.2"/);
  });

  it('renders Markdown with the verdict and a table of steps', () => {
    const md = renderMarkdown(journal);
    expect(md).toContain('**Verdict: FAILED** — p95 of gateway did not hold');
    expect(md).toContain('users-1: latency \\| 300 ms');
    expect(md).toContain('- latency 300±0 ms in users: applied +1.0 s, rolled back +9.0 s');
  });

  it('keeps the docs example valid', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/experiments.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'xp-doc-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'example.yaml'), yaml!);
    expect(loadExperiment(join(dir, 'example.yaml')).experiment.title).toBeTruthy();
  });
});

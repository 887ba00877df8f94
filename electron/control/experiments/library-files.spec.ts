import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkDefinition,
  DefinitionRejectedError,
  LibraryRefusedError,
  problemText,
  saveDefinition,
} from './library-files.ts';
import { listExperiments } from './library.ts';

const VALID = `# a comment that survives saving
title: Quick wait
method:
  - { type: wait, ms: 10 }
`;

let dir: string | null = null;
const library = () => (dir ??= mkdtempSync(join(tmpdir(), 'xp-lib-')));
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe('checkDefinition', () => {
  it('accepts a valid definition and applies the defaults', () => {
    const checked = checkDefinition(VALID);
    expect(checked.problems).toEqual([]);
    expect(checked.experiment).toMatchObject({ title: 'Quick wait', users: [], rollbacks: [] });
  });

  it('places schema problems at the line of the value', () => {
    const { problems } = checkDefinition('title: T\nmethod:\n  - type: wait\n    ms: -1\n');
    expect(problems.map(problemText)).toEqual([expect.stringMatching(/^line 4:9 method\[0\]\.ms: /)]);
  });

  it('places a missing field at its parent', () => {
    const { problems } = checkDefinition('method:\n  - { type: wait, ms: 1 }\n');
    expect(problems).toEqual([expect.objectContaining({ path: 'title', line: 1 })]);
  });

  it('places fault-model problems (checked after the schema)', () => {
    const { problems } = checkDefinition(
      'title: T\nmethod:\n  - type: fault\n    fault: { type: container, target: { service: nope }, change: { action: kill } }\n',
    );
    expect(problems[0]).toMatchObject({ path: 'method[0].fault.target.service', line: 4 });
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems, experiment } = checkDefinition('title: T\nmethod: [\n');
    expect(experiment).toBeNull();
    expect(problems[0]?.line).toBeGreaterThan(0);
    expect(problems[0]?.message).not.toContain('\n');
  });
});

describe('saveDefinition', () => {
  it('writes the text as it is into <name>.yaml and lists it', () => {
    const entry = saveDefinition('quick-wait', VALID, library());
    expect(entry).toMatchObject({ name: 'quick-wait', origin: 'library', title: 'Quick wait' });
    expect(readFileSync(join(library(), 'quick-wait.yaml'), 'utf8')).toBe(VALID);
    expect(listExperiments([library()]).map((e) => e.name)).toContain('quick-wait');
  });

  it('refuses built-in names, bad names and broken definitions, writing nothing', () => {
    expect(() => saveDefinition('kill-timeline', VALID, library())).toThrow(LibraryRefusedError);
    expect(() => saveDefinition('Bad Name', VALID, library())).toThrow(LibraryRefusedError);
    expect(() => saveDefinition('broken', 'title: T\nmethod: []\n', library())).toThrow(
      DefinitionRejectedError,
    );
    expect(listExperiments([library()]).filter((e) => e.origin === 'library')).toEqual([]);
  });
});

/**
 * Where experiments come from: the built-in scenarios shipped in `builtin/` (one YAML file each,
 * named for the scenario), the user's own in `<CHAOSCOPE_HOME>/experiments/library/`, a file
 * anywhere (JSON or YAML), or a definition object.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ExperimentFormatError, parseExperiment, type Experiment } from './schema.ts';

export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'builtin');
const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ExperimentEntry {
  /** What `experimentRun` takes: the file name without extension. */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly origin: 'builtin' | 'library';
  readonly file: string;
  /** Set when the file does not parse: listed anyway, so the user sees why it cannot run. */
  readonly problem?: string;
}

export interface LoadedExperiment {
  readonly experiment: Experiment;
  /** "builtin:<name>", "library:<name>", a file path, or "definition". */
  readonly source: string;
}

export function listExperiments(libraryDirs: readonly string[] = []): ExperimentEntry[] {
  const entries: ExperimentEntry[] = [];
  const seen = new Set<string>();
  const dirs: [string, 'builtin' | 'library'][] = [
    [BUILTIN_DIR, 'builtin'],
    ...libraryDirs.map((d): [string, 'library'] => [d, 'library']),
  ];
  for (const [dir, origin] of dirs) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!EXTENSIONS.has(extname(file))) continue;
      const name = basename(file, extname(file));
      // A built-in cannot be shadowed by a library file of the same name.
      if (seen.has(name)) continue;
      seen.add(name);
      const path = join(dir, file);
      try {
        const experiment = readExperimentFile(path);
        entries.push({
          name,
          title: experiment.title,
          description: experiment.description,
          tags: experiment.tags,
          origin,
          file: path,
        });
      } catch (error) {
        entries.push({
          name,
          title: name,
          description: '',
          tags: [],
          origin,
          file: path,
          problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return entries;
}

/** A name from the list, a path to a .json/.yaml/.yml file, or a definition object. */
export function loadExperiment(ref: unknown, libraryDirs: readonly string[] = []): LoadedExperiment {
  if (typeof ref !== 'string') return { experiment: parseExperiment(ref), source: 'definition' };
  const entry = listExperiments(libraryDirs).find((e) => e.name === ref);
  if (entry) {
    if (entry.problem) throw new Error(entry.problem);
    return { experiment: readExperimentFile(entry.file), source: `${entry.origin}:${entry.name}` };
  }
  if (EXTENSIONS.has(extname(ref)) || ref.includes('/')) {
    const path = resolve(ref);
    if (!existsSync(path)) throw new Error(`no experiment file ${path}`);
    return { experiment: readExperimentFile(path), source: path };
  }
  const names = listExperiments(libraryDirs).map((e) => e.name);
  throw new Error(`no experiment "${ref}"; known: ${names.join(', ')} (or give a .json/.yaml file)`);
}

export function readExperimentFile(path: string): Experiment {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new ExperimentFormatError(path, [error instanceof Error ? error.message : String(error)]);
  }
  return parseExperiment(value, path);
}

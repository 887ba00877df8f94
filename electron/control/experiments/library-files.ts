/**
 * Editing the user's library (`<CHAOSCOPE_HOME>/experiments/library/`) from the API: a definition's
 * source text, its check with every problem placed at a line of the text, and saving it. Built-in
 * scenarios can be read but never overwritten (a library file cannot shadow them either).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { listExperiments, type ExperimentEntry } from './library.ts';
import { experimentSchema, validateFaults, type Experiment } from './schema.ts';

/** One thing wrong with a definition; `line`/`column` (1-based) when it can be placed in the text. */
export interface DefinitionProblem {
  readonly path: string;
  readonly message: string;
  readonly line: number | null;
  readonly column: number | null;
}

export interface CheckedDefinition {
  /** Parsed, defaults applied; null while there are problems. */
  readonly experiment: Experiment | null;
  readonly problems: DefinitionProblem[];
}

export const LIBRARY_NAME = /^[a-z][a-z0-9-]{0,59}$/;

/** Parses YAML (or JSON, which YAML reads too) and checks it like a run would, placing each problem. */
export function checkDefinition(source: string): CheckedDefinition {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      experiment: null,
      problems: doc.errors.map((e) => ({
        path: '',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        line: e.linePos?.[0].line ?? null,
        column: e.linePos?.[0].col ?? null,
      })),
    };
  }
  const value: unknown = doc.toJS();
  const place = (path: readonly (string | number)[], message: string): DefinitionProblem => {
    const at = positionOf(doc, lines, path);
    return { path: formatPath(path), message, line: at?.line ?? null, column: at?.col ?? null };
  };
  const parsed = experimentSchema.safeParse(value);
  if (!parsed.success) {
    return {
      experiment: null,
      problems: parsed.error.issues.map((i) =>
        place(
          i.path.filter((p): p is string | number => typeof p !== 'symbol'),
          i.message,
        ),
      ),
    };
  }
  const problems = validateFaults(parsed.data).map((text) => {
    // validateFaults says where as `method[0].parallel[1].fault.change.action: message`.
    const match = /^([a-zA-Z][\w.[\]]*): (.*)$/s.exec(text);
    if (!match) return { path: '', message: text, line: null, column: null };
    const path = match[1]!
      .split(/\.|(?=\[)/)
      .filter(Boolean)
      .map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p));
    return place(path, match[2]!);
  });
  return { experiment: problems.length > 0 ? null : parsed.data, problems };
}

/** The deepest node of the path that exists in the document (a missing key points at its parent). */
function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): { line: number; col: number } | null {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]);
  }
  return null;
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** "line 12:5 method[0].fault.type: message" — one line per problem, for errors and the CLI. */
export function problemText(problem: DefinitionProblem): string {
  const where = problem.line !== null ? `line ${problem.line}:${problem.column ?? 1} ` : '';
  return `${where}${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

export class DefinitionRejectedError extends Error {
  override readonly name = 'DefinitionRejectedError';
  readonly problems: readonly DefinitionProblem[];
  constructor(what: string, problems: readonly DefinitionProblem[]) {
    super(
      `${what} is not a valid experiment (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems
        .slice(0, 3)
        .map(problemText)
        .join('; ')}`,
    );
    this.problems = problems;
  }
}

export class LibraryRefusedError extends Error {
  override readonly name = 'LibraryRefusedError';
}

/** A listed experiment and the text of its file. */
export function readDefinition(
  name: string,
  libraryDir: string,
): { entry: ExperimentEntry; source: string } | null {
  const entry = listExperiments([libraryDir]).find((e) => e.name === name);
  if (!entry) return null;
  return { entry, source: readFileSync(entry.file, 'utf8') };
}

/**
 * Checks and writes a library definition. The text is kept as written (comments and all), in
 * `<name>.yaml`, or in the `.yml`/`.json` file of that name already there (JSON re-serialized).
 */
export function saveDefinition(name: string, source: string, libraryDir: string): ExperimentEntry {
  if (!LIBRARY_NAME.test(name))
    throw new LibraryRefusedError(
      `"${name}" is not a library name: lower-case letters, digits and dashes, starting with a letter`,
    );
  const existing = listExperiments([libraryDir]).find((e) => e.name === name);
  if (existing?.origin === 'builtin')
    throw new LibraryRefusedError(`"${name}" is a built-in scenario; save your version under another name`);
  const checked = checkDefinition(source);
  if (checked.problems.length > 0) throw new DefinitionRejectedError(`"${name}"`, checked.problems);
  mkdirSync(libraryDir, { recursive: true, mode: 0o700 });
  const file = existing?.file ?? join(libraryDir, `${name}.yaml`);
  const text =
    extname(file) === '.json'
      ? `${JSON.stringify(parseDocument(source).toJS(), null, 2)}\n`
      : source.endsWith('\n')
        ? source
        : `${source}\n`;
  const temp = `${file}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
  const entry = listExperiments([libraryDir]).find((e) => e.name === name);
  if (!entry || !existsSync(entry.file)) throw new Error(`${file} was written but is not listed`);
  return entry;
}

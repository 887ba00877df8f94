/**
 * Bundles the Electron shell with esbuild into `electron/dist/` (git-ignored):
 *   main.mjs     the main process (ESM) with the control plane inlined; npm packages stay external
 *                (native modules such as @duckdb/node-api must load from node_modules, unpacked)
 *   preload.cjs  the sandboxed preload: CommonJS, everything inlined, `electron` its only require
 *
 * The control plane finds files next to its sources (service entries, .proto files, package.json)
 * through `import.meta.url`. Inlined into main.mjs, that URL would point at electron/dist/, so each
 * bundled source file gets its own original URL back, written relative to the bundle: the
 * bundle and the source tree move together (the repo in development, the asar when packaged).
 *
 *   node scripts/build-electron.ts    (also run by `npm start` before it launches the desktop app)
 * The build fails when the preload bundle requires anything but `electron`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { build, transform, type Plugin } from 'esbuild';

export const ROOT = join(import.meta.dirname, '..');
export const ELECTRON_OUT_DIR = join(ROOT, 'electron', 'dist');
export const MAIN_BUNDLE = join(ELECTRON_OUT_DIR, 'main.mjs');
export const PRELOAD_BUNDLE = join(ELECTRON_OUT_DIR, 'preload.cjs');

/**
 * npm packages stay external (loaded from node_modules at run time), except these. An external
 * import is hoisted above all inlined code, so a package that needs one of our modules to run
 * first must be inlined with it: @peculiar/x509 (through tsyringe) needs the Reflect metadata
 * shim of sample-cluster/kit/trust/reflect-metadata.ts installed before it loads.
 */
export const INLINED_PACKAGES: readonly string[] = ['@peculiar/x509'];

/** What a sandboxed preload may require; anything else fails at run time in the window. */
const PRELOAD_REQUIRES_ALLOWED = new Set(['electron']);

export interface BuildResult {
  readonly main: string;
  readonly preload: string;
  readonly elapsedMs: number;
}

export async function buildElectron(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const outDir = options.outDir ?? ELECTRON_OUT_DIR;
  const main = join(outDir, 'main.mjs');
  const preload = join(outDir, 'preload.cjs');
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    sourcemap: 'linked' as const,
    logLevel: 'warning' as const,
    minify: options.minify ?? false,
    legalComments: 'none' as const,
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron', 'main', 'main.ts')],
      outfile: main,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      plugins: [externalPackagesExcept(INLINED_PACKAGES), sourceImportMetaUrl(dirname(main))],
      // Some dependencies call require(); give the ESM bundle one.
      banner: {
        js: "import { createRequire as __chaoscopeRequire } from 'node:module'; const require = __chaoscopeRequire(import.meta.url);",
      },
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron', 'preload', 'preload.ts')],
      outfile: preload,
      // The preload runs in the renderer process: a browser-like world with `require('electron')`.
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
      // It is parsed again for every page load: keep it small (zod and the schemas are inlined).
      minify: true,
    }),
  ]);
  const requires = requiredModules(await readFile(preload, 'utf8')).filter(
    (m) => !PRELOAD_REQUIRES_ALLOWED.has(m),
  );
  if (requires.length > 0)
    throw new Error(
      `the preload bundle requires ${requires.join(', ')}: a sandboxed preload may only require electron`,
    );
  return { main, preload, elapsedMs: Math.round(performance.now() - started) };
}

/** Module names a CommonJS bundle passes to `require("…")`. */
export function requiredModules(code: string): string[] {
  return [...new Set([...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? ''))];
}

/** The npm package a bare import names: `@scope/name/x` → `@scope/name`, `name/x` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Bare imports are external, except `inline` packages and what they import themselves. */
export function externalPackagesExcept(inline: readonly string[]): Plugin {
  const inlinedDirs = inline.map((name) => `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`);
  return {
    name: 'chaoscope-external-packages',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
        if (/^[A-Za-z]:[\\/]/.test(args.path)) return undefined; // a Windows absolute path
        if (inline.includes(packageName(args.path))) return undefined;
        if (inlinedDirs.some((dir) => args.importer.includes(dir))) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Gives each of our bundled sources its own `import.meta.url` back, computed at run time relative
 * to the bundle (`new URL('../../sample-cluster/…/runtime.ts', import.meta.url)`). The swap is
 * esbuild's own `define` (it edits the syntax tree, never a string that merely looks alike).
 */
export function sourceImportMetaUrl(bundleDir: string): Plugin {
  const local = '__chaoscope_source_url';
  return {
    name: 'chaoscope-source-import-meta-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const source = await readFile(args.path, 'utf8');
        if (/\bimport\.meta\.(dirname|filename)\b/.test(source))
          throw new Error(
            `${relative(ROOT, args.path)} uses import.meta.dirname/filename, which cannot follow it into the bundle; use import.meta.url`,
          );
        if (!source.includes('import.meta.url')) return undefined;
        const fromBundle = relative(bundleDir, args.path).split(sep).join('/');
        const out = await transform(source, {
          loader: 'ts',
          format: 'esm',
          target: 'node22',
          sourcefile: args.path,
          sourcemap: 'inline',
          define: { 'import.meta.url': local },
        });
        return {
          contents: `const ${local} = new URL(${JSON.stringify(fromBundle)}, import.meta.url).href;\n${out.code}`,
          loader: 'js',
        };
      });
    },
  };
}

if (import.meta.filename === process.argv[1]) {
  const result = await buildElectron();
  console.log(
    `electron shell built in ${result.elapsedMs} ms: ${relative(ROOT, result.main)}, ${relative(ROOT, result.preload)}`,
  );
}

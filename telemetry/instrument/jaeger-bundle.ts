/**
 * `@opentelemetry/exporter-jaeger` as a file of its own, for places that have the service bundles
 * but no node_modules (container images). It cannot go into the ES module bundles:
 * - a dependency (`error`, through bufrw) assigns to a function's `name`, which only sloppy-mode
 *   code survives, and ES modules are always strict. A CommonJS bundle whose entry has no
 *   "use strict" keeps each module's own mode;
 * - jaeger-client reads its Thrift IDL at run time from `__dirname`, so the IDL files are copied
 *   next to the bundle, where `__dirname` then points.
 * The result is `jaeger-exporter.cjs` plus `jaeger-idl/thrift/*.thrift` and `thriftrw-idl/agent.thrift`
 * in `outDir`; exporters.ts loads it from next to the running bundle before trying node_modules.
 * Build-time code: never imported by a service.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const JAEGER_BUNDLE_FILE = 'jaeger-exporter.cjs';

const require = createRequire(import.meta.url);
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every file bundleJaegerExporter writes, relative to outDir (what an image must ship). */
export async function bundleJaegerExporter(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  await build({
    stdin: {
      // No "use strict" here: see above.
      contents: "module.exports = require('@opentelemetry/exporter-jaeger');",
      resolveDir: REPO_ROOT,
      sourcefile: 'jaeger-exporter-entry.cjs',
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    outfile: join(outDir, JAEGER_BUNDLE_FILE),
    logLevel: 'silent',
  });
  const clientSrc = dirname(require.resolve('jaeger-client/dist/src/thrift'));
  const written = [JAEGER_BUNDLE_FILE];
  for (const idlDir of ['jaeger-idl/thrift', 'thriftrw-idl']) {
    await mkdir(join(outDir, idlDir), { recursive: true });
    for (const file of await readdir(join(clientSrc, idlDir))) {
      if (!file.endsWith('.thrift')) continue;
      await copyFile(join(clientSrc, idlDir, file), join(outDir, idlDir, file));
      written.push(`${idlDir}/${file}`);
    }
  }
  return written;
}

/**
 * The one image every container runtime (docker, swarm) runs: the services bundled by esbuild
 * (rebuilt only when their sources changed), the Jaeger exporter beside them, on a base made from
 * the project's own Linux Node binary, so no image registry is needed.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { bundleJaegerExporter, JAEGER_BUNDLE_FILE } from '../../../telemetry/instrument/jaeger-bundle.ts';
import type { ServiceSpec } from '../../cluster.ts';
import { bundleServices } from '../bundle.ts';
import { RuntimeError } from '../errors.ts';
import { ensureImages, type BuildProgress } from '../images/build.ts';
import type { ProgressEvent } from '../types.ts';
import { RELAY_ENTRY } from './spec.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Emit = (event: DistributiveOmit<ProgressEvent, 'elapsedMs'>) => void;

export interface ClusterImageOptions {
  readonly docker: Docker;
  readonly repoRoot: string;
  /** The runtime's own folder: bundles and build context go below it. */
  readonly dir: string;
  readonly specs: readonly ServiceSpec[];
  readonly engineArch: string;
  readonly nodePath?: string | undefined;
  readonly emit: Emit;
}

/** Bundle when the sources changed, build the image when the bundles changed; answers its tag. */
export async function ensureClusterImage(options: ClusterImageOptions): Promise<string> {
  const { emit } = options;
  const bundleDir = join(options.dir, 'bundles');
  const entries: Record<string, string> = Object.fromEntries(options.specs.map((s) => [s.name, s.entry]));
  entries[RELAY_ENTRY] = 'sample-cluster/runtime/docker/relay-main.ts';
  try {
    const bundled = await bundleServices({ repoRoot: options.repoRoot, entries, outDir: bundleDir });
    if (bundled.rebuilt) emit({ type: 'note', message: `bundled the services in ${bundled.elapsedMs} ms` });
    // OTEL_EXPORTER=jaeger in a container: the exporter cannot be part of the ES module bundles.
    if (bundled.rebuilt || !existsSync(join(bundleDir, JAEGER_BUNDLE_FILE)))
      await bundleJaegerExporter(bundleDir);
    await mkdir(join(options.dir, 'build'), { recursive: true, mode: 0o700 });
    const result = await ensureImages({
      docker: options.docker,
      repoRoot: options.repoRoot,
      bundleDir,
      engineArch: options.engineArch,
      workDir: join(options.dir, 'build'),
      ...(options.nodePath ? { nodePath: options.nodePath } : {}),
      onProgress: (p) => emit(buildEvent(p)),
    });
    return result.image;
  } catch (error) {
    throw new RuntimeError('START_FAILED', `could not build the cluster image: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function buildEvent(p: BuildProgress): DistributiveOmit<ProgressEvent, 'elapsedMs'> {
  switch (p.kind) {
    case 'step':
      return { type: 'image-build', image: p.image, step: p.step, total: p.total, message: p.instruction };
    case 'cached':
      return { type: 'image-build', image: p.image, step: 0, total: 0, message: `up to date (${p.tag})` };
    case 'built':
      return {
        type: 'image-build',
        image: p.image,
        step: 0,
        total: 0,
        message: `built ${p.tag} in ${p.elapsedMs} ms`,
      };
    case 'note':
      return { type: 'note', message: p.message };
  }
}

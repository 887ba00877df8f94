/**
 * The runtime factory: which engine drives the cluster. The control plane and the CLI ask here and
 * never name a runtime class, so adding the docker and swarm engines changes this file only.
 */
import { detectRuntime } from './docker/detect.ts';
import { DockerRuntime } from './docker/runtime.ts';
import { RuntimeError } from './errors.ts';
import { ProcessRuntime, type ProcessRuntimeOptions } from './process/runtime.ts';
import { SwarmRuntime } from './swarm/runtime.ts';
import type { ClusterRuntime, RuntimeKind } from './types.ts';

export type RuntimeChoice = RuntimeKind | 'auto';

export interface RuntimeFactoryOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** Extra variables per service (the collector's endpoint, say); the env contract still wins. */
  readonly serviceEnv?: ProcessRuntimeOptions['serviceEnv'];
}

/** Engines this build can drive, the default first. */
export const AVAILABLE_RUNTIMES: readonly RuntimeKind[] = ['process', 'docker', 'swarm'];

/** `auto` is the process runtime until a container engine is supported (then: docker when one answers). */
export function resolveRuntimeChoice(choice: RuntimeChoice): RuntimeKind {
  const kind: RuntimeKind = choice === 'auto' ? AVAILABLE_RUNTIMES[0]! : choice;
  if (!AVAILABLE_RUNTIMES.includes(kind)) {
    throw new RuntimeError(
      'UNSUPPORTED',
      `the ${kind} runtime is not available yet; use --runtime process (or auto)`,
    );
  }
  return kind;
}

/** `auto` as the product means it: docker when an engine answers (within 1.5 s), else process. */
export async function detectRuntimeChoice(
  choice: RuntimeChoice,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<RuntimeKind> {
  if (choice !== 'auto') return resolveRuntimeChoice(choice);
  return (await detectRuntime(options.env ? { env: options.env } : {})).kind;
}

export function createRuntime(kind: RuntimeKind, options: RuntimeFactoryOptions = {}): ClusterRuntime {
  switch (kind) {
    case 'process':
      return new ProcessRuntime({
        ...(options.env ? { env: options.env } : {}),
        ...(options.home ? { home: options.home } : {}),
        ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
      });
    case 'docker':
      return new DockerRuntime({
        ...(options.env ? { env: options.env } : {}),
        ...(options.home ? { home: options.home } : {}),
        ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
      });
    case 'swarm':
      return new SwarmRuntime({
        ...(options.env ? { env: options.env } : {}),
        ...(options.home ? { home: options.home } : {}),
        ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
      });
  }
}

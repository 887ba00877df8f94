/**
 * `--runtime auto`: Docker when an engine answers (quickly), else the process runtime. The CLI and
 * the control plane call this instead of guessing, so both pick the same runtime.
 */
import type { RuntimeKind } from '../types.ts';
import { dockerClient, pingEngine } from './client.ts';

export interface DetectedRuntime {
  readonly kind: Extract<RuntimeKind, 'docker' | 'process'>;
  /** One line for the user: why this runtime. */
  readonly reason: string;
}

export async function detectRuntime(
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<DetectedRuntime> {
  const env = options.env ?? process.env;
  let docker;
  try {
    docker = dockerClient(env);
  } catch (error) {
    return {
      kind: 'process',
      reason: `no Docker engine (${(error as Error).message}); using local processes`,
    };
  }
  if (await pingEngine(docker, options.timeoutMs ?? 1_500))
    return { kind: 'docker', reason: 'a Docker engine answers; running the cluster in containers' };
  return { kind: 'process', reason: 'no Docker engine answers; running the cluster as local processes' };
}

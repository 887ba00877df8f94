/**
 * The Docker tier: the tweet cluster in containers on a real engine, for one test file, started
 * through the docker runtime in a throwaway home and removed (volumes included) afterwards.
 *
 * Without an engine the tier is skipped, loudly; with CI=true or CHAOSCOPE_REQUIRE_DOCKER=1 a
 * missing engine fails the file instead, so CI cannot pass by skipping it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import type { ServiceName } from '../../sample-cluster/cluster.ts';
import { dockerClient, pingEngine } from '../../sample-cluster/runtime/docker/client.ts';
import { DockerRuntime, type DockerRuntimeOptions } from '../../sample-cluster/runtime/docker/runtime.ts';
import type { ClusterStatus, InstanceStatus } from '../../sample-cluster/runtime/types.ts';
import { api, type Answer } from './http.ts';

async function engineAnswers(): Promise<string | null> {
  try {
    return (await pingEngine(dockerClient(), 3_000))
      ? null
      : `no Docker engine answers (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unset'})`;
  } catch (error) {
    return (error as Error).message;
  }
}

const missing = await engineAnswers();
const required = process.env.CI === 'true' || process.env.CHAOSCOPE_REQUIRE_DOCKER === '1';
if (missing && required) throw new Error(`the Docker tier is required here, but ${missing}`);
if (missing) console.warn(`\n*** Docker tier SKIPPED: ${missing}. Start dockerd to run it. ***\n`);

/** `describe`, skipped (with the reason in its name) when no engine answers. */
export function describeDocker(name: string, body: () => void): void {
  describe.skipIf(missing !== null)(missing ? `${name} [skipped: ${missing}]` : name, body);
}

export interface DockerTestCluster {
  readonly runtime: DockerRuntime;
  readonly home: string;
  readonly gateway: string;
  readonly adminToken: string;
  status(): Promise<ClusterStatus>;
  instance(service: ServiceName, index?: number): Promise<InstanceStatus>;
  admin<T = Record<string, unknown>>(
    service: ServiceName,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    index?: number,
  ): Promise<Answer<T>>;
  stop(): Promise<void>;
}

export function dockerRuntime(home: string, options: Omit<DockerRuntimeOptions, 'home'> = {}): DockerRuntime {
  // info, not warn: the log tests read what the services say at start.
  return new DockerRuntime({
    home,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'info',
    ...options,
  });
}

export async function startDockerCluster(
  options: {
    serviceEnv?: DockerRuntimeOptions['serviceEnv'];
    withLoadgen?: boolean;
    /** Only these (and what they depend on). */
    services?: ServiceName[];
  } = {},
): Promise<DockerTestCluster> {
  const home = mkdtempSync(join(tmpdir(), 'chaoscope-docker-it-'));
  const runtime = dockerRuntime(home, options.serviceEnv ? { serviceEnv: options.serviceEnv } : {});
  let status: ClusterStatus;
  try {
    // 18080 keeps tests off a developer's own cluster on 8080; the runtime moves on if it is taken.
    status = await runtime.up({
      gatewayPort: 18080,
      withLoadgen: options.withLoadgen ?? false,
      ...(options.services ? { services: options.services } : {}),
    });
  } catch (error) {
    await runtime.down({ volumes: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const adminToken = await runtime.adminToken();
  const instance = async (service: ServiceName, index = 0) => {
    const s = (await runtime.status()).services.find((x) => x.name === service);
    const found = s?.instances[index];
    if (!found) throw new Error(`no instance ${index} of ${service}`);
    return found;
  };
  return {
    runtime,
    home,
    gateway: status.gateway,
    adminToken,
    status: () => runtime.status(),
    instance,
    async admin(service, method, path, body, index) {
      const { address } = await instance(service, index);
      return api(`http://${address}`, method, path, {
        token: adminToken,
        ...(body !== undefined ? { body } : {}),
      });
    },
    async stop() {
      runtime.close();
      await runtime.down({ volumes: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

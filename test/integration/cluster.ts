/**
 * The tweet cluster as real local processes, for one test file: started through the process
 * runtime in a throwaway home, torn down (data included) afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '../../sample-cluster/cluster.ts';
import { ProcessRuntime, type ProcessRuntimeOptions } from '../../sample-cluster/runtime/process/runtime.ts';
import type { ClusterStatus, InstanceStatus } from '../../sample-cluster/runtime/types.ts';
import { api, type Answer } from './http.ts';

export interface TestCluster {
  readonly runtime: ProcessRuntime;
  readonly gateway: string;
  readonly adminToken: string;
  status(): Promise<ClusterStatus>;
  instance(service: ServiceName): Promise<InstanceStatus>;
  /** Call a service's admin API directly, with the cluster admin credential. */
  admin<T = Record<string, unknown>>(
    service: ServiceName,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<Answer<T>>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Also start the load generator. */
  readonly withLoadgen?: boolean;
  /** Extra settings per service, e.g. `{ loadgen: { LOADGEN_AUTOSTART: 'false' } }`. */
  readonly serviceEnv?: ProcessRuntimeOptions['serviceEnv'];
}

export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const home = mkdtempSync(join(tmpdir(), 'chaoscope-it-'));
  const runtime = new ProcessRuntime({
    home,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
  });
  let status: ClusterStatus;
  try {
    // 18080 keeps tests off a developer's own cluster on 8080; the runtime moves on if it is taken.
    status = await runtime.up({ gatewayPort: 18080, withLoadgen: options.withLoadgen ?? false });
  } catch (error) {
    await runtime.down({ volumes: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const adminToken = await runtime.adminToken();
  const instance = async (service: ServiceName) => {
    const s = (await runtime.status()).services.find((x) => x.name === service);
    const first = s?.instances[0];
    if (!first) throw new Error(`no instance of ${service}`);
    return first;
  };
  return {
    runtime,
    gateway: status.gateway,
    adminToken,
    status: () => runtime.status(),
    instance,
    async admin(service, method, path, body) {
      const { address } = await instance(service);
      return api(`http://${address}`, method, path, {
        token: adminToken,
        ...(body !== undefined ? { body } : {}),
      });
    },
    async stop() {
      await runtime.down({ volumes: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

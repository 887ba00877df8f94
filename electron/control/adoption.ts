/**
 * What a control plane does with a cluster it finds at start (its predecessor crashed, or was
 * stopped and left the cluster running): adopt it, thaw every instance (a pause whose timer died
 * with the old control plane), and roll back every kit fault, so no chaos outlives the process
 * that was watching it. Also what a clean stop does before it exits.
 */
import { isAdminError } from '../../sample-cluster/runtime/admin-client.ts';
import { isRuntimeError } from '../../sample-cluster/runtime/errors.ts';
import type { ClusterAccess } from './cluster-access.ts';

export interface CleanupReport {
  readonly clusterId: string;
  readonly runtime: string;
  readonly faultsRemoved: number;
  /** Instances whose faults could not be checked (they did not answer). */
  readonly unreachable: readonly string[];
}

/** Thaw and clear every fault of the running cluster; null when there is no cluster. */
export async function rollBackChaos(
  cluster: ClusterAccess,
  options: { thaw: boolean },
): Promise<CleanupReport | null> {
  const found = await cluster.find();
  if (!found) return null;
  const { runtime, status } = found;
  const running = await cluster.running(status);
  if (options.thaw && runtime.kind === 'process') {
    await Promise.all(
      running.map(({ service, instance }) =>
        runtime.kill(service, { signal: 'SIGCONT', instanceId: instance.id }).catch((error: unknown) => {
          if (!isRuntimeError(error)) throw error;
        }),
      ),
    );
  }
  const { client } = await cluster.admin();
  const unreachable: string[] = [];
  // Counted after all answers are in: `n += await …` in parallel closures would lose updates.
  const counts = await Promise.all(
    running.map(async ({ instance }) => {
      try {
        return await client.clearFaults(instance.address);
      } catch (error) {
        // A service without admin routes has no faults to leave behind.
        if (!isAdminError(error, 'not-found')) unreachable.push(instance.id);
        return 0;
      }
    }),
  );
  const faultsRemoved = counts.reduce((sum, n) => sum + n, 0);
  return { clusterId: status.clusterId, runtime: runtime.kind, faultsRemoved, unreachable };
}

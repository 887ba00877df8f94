/**
 * The labels every Docker object Chaoscope makes carries, and the names it gives them. Labels are
 * the app's only claim on an object: whatever lacks `io.chaoscope.cluster` is never touched, and a
 * restarted control plane finds its cluster again through them (no state file is needed for that).
 */
import { createHash } from 'node:crypto';

export const LABEL = {
  /** The cluster an object belongs to (PRODUCT.md: on every object). */
  cluster: 'io.chaoscope.cluster',
  /** The service a container or volume belongs to (PRODUCT.md: on every object of a service). */
  service: 'io.chaoscope.service',
  /** Stable instance id, e.g. `timeline-2`. */
  instance: 'io.chaoscope.instance',
  /** Which CHAOSCOPE_HOME made the cluster (a hash, not the path), so two homes never collide. */
  home: 'io.chaoscope.home',
  /** Which runtime made it: docker or swarm. */
  runtime: 'io.chaoscope.runtime',
  /** On the network: when the cluster was made (ISO 8601). */
  createdAt: 'io.chaoscope.created-at',
  /** On the network: the gateway's public URL as the host sees it. */
  gateway: 'io.chaoscope.gateway',
  /** On images: which of our images it is (`node-base`, `services`). */
  image: 'io.chaoscope.image',
  /** On images: hash of everything the image was built from; equal hash, no rebuild. */
  contentHash: 'io.chaoscope.content-hash',
} as const;

/** Short, stable, not reversible: a home path may say more about a user than a label should. */
export function homeHash(home: string): string {
  return createHash('sha256').update(home).digest('hex').slice(0, 12);
}

/** Docker object names: readable in `docker ps`, unique per cluster. */
export const names = {
  network: (clusterId: string) => `chaoscope-${clusterId}`,
  container: (clusterId: string, instanceId: string) => `chaoscope-${clusterId}-${instanceId}`,
  volume: (clusterId: string, service: string) => `chaoscope-${clusterId}-${service}-data`,
};

/** `label=` filters in the form the Docker API takes (`{"label": ["k=v", …]}`). */
export function labelFilter(labels: Readonly<Record<string, string | undefined>>): { label: string[] } {
  return {
    label: Object.entries(labels).map(([key, value]) => (value === undefined ? key : `${key}=${value}`)),
  };
}

/** True only for objects that carry our cluster label (and, when given, exactly this cluster). */
export function isOurs(
  labels: Readonly<Record<string, string>> | null | undefined,
  clusterId?: string,
): boolean {
  const value = labels?.[LABEL.cluster];
  if (!value) return false;
  return clusterId === undefined || value === clusterId;
}
